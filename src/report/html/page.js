// voice-harness report: filters, and calls drawn when opened (from the JSON beside each).
// Text goes in with textContent only, never as HTML.
(function () {
  'use strict';
  var root = document.documentElement;
  root.classList.add('js');
  var list = document.getElementById('list');
  var cases = list ? list.getElementsByTagName('article') : [];
  var form = document.getElementById('filters');
  var status = document.getElementById('f-status');
  var tag = document.getElementById('f-tag');
  var text = document.getElementById('f-text');
  var count = document.getElementById('f-count');

  function el(name, cls, content) {
    var e = document.createElement(name);
    if (cls) { e.className = cls; }
    if (content !== undefined) { e.textContent = content; }
    return e;
  }
  function svg(name, attrs, title) {
    var e = document.createElementNS('http://www.w3.org/2000/svg', name);
    for (var k in attrs) { if (Object.prototype.hasOwnProperty.call(attrs, k)) { e.setAttribute(k, attrs[k]); } }
    if (title) { var t = document.createElementNS('http://www.w3.org/2000/svg', 'title'); t.textContent = title; e.appendChild(t); }
    return e;
  }
  function latency(li, l, b) {
    if (l === undefined && b === undefined) { return; }
    var p;
    if (l !== undefined && b !== undefined && l > b) { p = el('p', 'lat over', l + ' ms, OVER BUDGET of ' + b + ' ms'); }
    else if (l !== undefined && b !== undefined) { p = el('p', 'lat', l + ' ms (budget ' + b + ' ms)'); }
    else if (l !== undefined) { p = el('p', 'lat', l + ' ms'); }
    else { p = el('p', 'lat over', 'latency unknown (budget ' + b + ' ms)'); }
    li.appendChild(p);
  }
  function chart(g) {
    var top = 1, i;
    for (i = 0; i < g.length; i++) { top = Math.max(top, g[i][1] || 0, g[i][2] || 0); }
    var bar = 12, gap = 8, height = 60, width = 40 + g.length * (bar + gap);
    var y = function (v) { return 4 + height - Math.floor(v * height / top); };
    var s = svg('svg', { 'class': 'mini', role: 'img', viewBox: '0 0 ' + width + ' ' + (height + 20), width: width, height: height + 20 },
      'Latency per step against budget (max ' + top + ' ms)');
    var label = svg('text', { 'class': 'axis', x: 0, y: 12 }); label.textContent = top + ' ms'; s.appendChild(label);
    for (i = 0; i < g.length; i++) {
      var step = g[i][0], l = g[i][1], b = g[i][2], x = 40 + i * (bar + gap);
      if (l !== null) {
        var over = b !== null && l > b;
        s.appendChild(svg('rect', { 'class': over ? 'over' : 'p50', x: x, y: y(l), width: bar, height: 4 + height - y(l) },
          'step ' + step + ': ' + l + ' ms' + (over ? ', over budget' : '')));
      }
      if (b !== null) {
        s.appendChild(svg('line', { 'class': 'budget', x1: Math.max(0, x - 2), x2: x + bar + 2, y1: y(b), y2: y(b) }, 'step ' + step + ': budget ' + b + ' ms'));
      }
      var t = svg('text', { 'class': 'axis', x: x + 2, y: height + 17 }); t.textContent = String(step); s.appendChild(t);
    }
    return s;
  }
  function item(it) {
    var li, p, n = it.n;
    if (it.k === 'user') {
      li = el('li', 'msg m-user'); li.appendChild(el('span', 'who', 'caller · step ' + n)); li.appendChild(el('p', 'text', it.t || ''));
      if (it.h !== undefined) { p = el('p', 'heard'); p.appendChild(el('span', 'lbl', 'agent heard:')); p.appendChild(document.createTextNode(' ' + it.h)); li.appendChild(p); }
      if (it.r !== undefined) { li.appendChild(el('p', 'meta', it.r)); }
    } else if (it.k === 'silence') {
      li = el('li', 'msg m-event'); li.appendChild(el('span', 'who', 'caller · step ' + n)); li.appendChild(el('p', 'text', '(silence, ' + it.r + ' ms)'));
    } else if (it.k === 'dtmf') {
      li = el('li', 'msg m-event'); li.appendChild(el('span', 'who', 'caller · step ' + n));
      p = el('p', 'text', 'keypad tones: '); p.appendChild(el('kbd', '', it.t || '')); li.appendChild(p);
    } else if (it.k === 'agent') {
      li = el('li', 'msg m-agent' + (it.c !== undefined ? ' cut' : '')); li.appendChild(el('span', 'who', 'agent · step ' + n));
      p = el('p', 'text');
      var full = it.t || '';
      if (it.c !== undefined) {
        var heard = it.h || '';
        var rest = full.indexOf(heard) === 0 ? full.slice(heard.length) : full;
        p.appendChild(document.createTextNode(heard));
        var cut = el('span', 'cutmark', ' \u2702 cut at ' + (it.c === null ? '?' : it.c) + ' ms '); cut.setAttribute('role', 'img'); cut.setAttribute('aria-label', 'caller cut in here');
        p.appendChild(cut); p.appendChild(el('span', 'unheard', rest));
      } else { p.textContent = full; }
      li.appendChild(p); latency(li, it.l, it.b);
    } else if (it.k === 'tool') {
      li = el('li', 'msg m-tool'); li.appendChild(el('span', 'who', 'tool call · step ' + n));
      p = el('p', 'text'); p.appendChild(el('code', '', it.r || '')); p.appendChild(document.createTextNode('(')); p.appendChild(el('code', '', it.a || '')); p.appendChild(document.createTextNode(')')); li.appendChild(p);
      p = el('p', 'result'); p.appendChild(el('span', 'lbl', 'result:')); p.appendChild(document.createTextNode(' ')); p.appendChild(el('code', '', it.o || '')); li.appendChild(p);
      li.appendChild(el('p', 'meta', it.m !== undefined ? 'answered by ' + it.m : 'no mock answered'));
    } else {
      var passed = it.p === true;
      li = el('li', 'verdict ' + (passed ? 'v-pass' : 'v-fail'));
      var what = it.r !== undefined ? 'check ' + n + ': ' + it.r : 'step ' + n;
      li.appendChild(el('span', 'badge ' + (passed ? 'b-pass' : 'b-fail'), what + ' ' + (passed ? 'passed' : 'FAILED')));
      if (it.t) { li.appendChild(document.createTextNode(' ')); li.appendChild(el('span', 'why', it.t)); }
      if (it.x) {
        var ex = el('span', 'expected'); ex.appendChild(el('span', 'lbl', 'expected:')); ex.appendChild(document.createTextNode(' '));
        for (var i = 0; i < it.x.length; i++) {
          if (i > 0) { ex.appendChild(document.createTextNode(', ')); }
          ex.appendChild(it.x[i][0] ? el('mark', 'miss', it.x[i][1] + ' (missing)') : el('span', 'hit', it.x[i][1]));
        }
        li.appendChild(document.createTextNode(' ')); li.appendChild(ex);
      }
      if (it.y) { for (var j = 0; j < it.y.length; j++) { li.appendChild(document.createTextNode(' ')); li.appendChild(el('span', 'finding', it.y[j])); } }
      latency(li, it.l, it.b);
    }
    return li;
  }
  var data = null;
  function draw(details) {
    if (details.getAttribute('data-drawn')) { return; }
    if (data === null) {
      var block = document.getElementById('data');
      data = block ? JSON.parse(block.textContent) : {};
    }
    var id = details.getAttribute('data-c');
    var v = Object.prototype.hasOwnProperty.call(data, id) ? data[id] : null;
    if (!v) { return; }
    details.setAttribute('data-drawn', '1');
    var body = details.querySelector('.body');
    var link = el('p', 'permalink'); var a = el('a', '', 'Link to this case'); a.href = '#c' + id;
    link.appendChild(a); body.appendChild(link);
    if (v.e !== undefined) { body.appendChild(el('pre', 'error', v.e)); }
    if (v.g) { body.appendChild(chart(v.g)); }
    if (v.i && v.i.length) {
      var ol = el('ol', 'conv');
      for (var i = 0; i < v.i.length; i++) { ol.appendChild(item(v.i[i])); }
      body.appendChild(ol);
    }
    if (v.t) { body.appendChild(el('p', 'note', 'The call was cut at the transcript row limit (MAX_TRANSCRIPT_SIZE).')); }
    if (v.f) { for (var k = 0; k < v.f.length; k++) { var f = el('p', 'tone'); f.appendChild(el('strong', '', 'FAILED')); f.appendChild(document.createTextNode(' ' + v.f[k])); body.appendChild(f); } }
  }
  if (list) {
    list.addEventListener('toggle', function (e) {
      var d = e.target;
      if (d.tagName === 'DETAILS' && d.open && d.hasAttribute('data-c')) { draw(d); }
    }, true);
  }
  var texts = null;
  function apply() {
    var st = status.value, tg = tag.value, q = text.value.trim().toLowerCase(), shown = 0;
    if (q && texts === null) {
      // What a case's line says (test id, file, reason), read once.
      texts = [];
      for (var k = 0; k < cases.length; k++) {
        var s = cases[k].getElementsByTagName('summary')[0];
        texts.push(((s ? s.textContent : '') + ' ' + cases[k].getAttribute('data-tags')).toLowerCase());
      }
    }
    for (var i = 0; i < cases.length; i++) {
      var a = cases[i];
      var ok = (!st || (st === 'flagged' ? a.getAttribute('data-ok') === '0' : a.getAttribute('data-status') === st)) &&
        (!tg || a.getAttribute('data-tags').split('\n').indexOf(tg) >= 0) &&
        (!q || texts[i].indexOf(q) >= 0);
      a.hidden = !ok;
      if (ok) { shown++; }
    }
    count.textContent = shown + ' of ' + cases.length + ' cases shown';
  }
  if (form) {
    form.hidden = false;
    form.addEventListener('submit', function (e) { e.preventDefault(); });
    status.addEventListener('change', apply); tag.addEventListener('change', apply); text.addEventListener('input', apply);
    count.textContent = cases.length + ' cases';
    // Filters from the address (report.html?status=flagged&tag=tools&q=booking): a link
    // to a filtered view.
    var query = new URLSearchParams(location.search);
    if (query.has('status')) { status.value = query.get('status'); }
    if (query.has('tag')) { tag.value = query.get('tag'); }
    if (query.has('q')) { text.value = query.get('q'); }
    if (query.has('status') || query.has('tag') || query.has('q')) { apply(); }
  }
  function openHash() {
    var id = decodeURIComponent(location.hash.slice(1));
    var a = id ? document.getElementById(id) : null;
    if (a && a.tagName === 'ARTICLE') {
      a.hidden = false;
      var d = a.querySelector('details');
      d.open = true; draw(d);
      a.scrollIntoView();
    }
  }
  window.addEventListener('hashchange', openHash);
  openHash();
  window.addEventListener('beforeprint', function () {
    var open = list ? list.querySelectorAll('article.flagged details') : [];
    for (var i = 0; i < open.length; i++) { open[i].open = true; draw(open[i]); }
  });
})();
