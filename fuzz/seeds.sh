#!/usr/bin/env bash
# Builds each fuzz target's seed corpus in fuzz/corpus/<target>/ from the repo's own files
# (issue #30), so nothing large is committed:
#   every target      its saved inputs, fuzz/regressions/<target>/
#   load              every case file: cases/, tests/hostile/, tests/custom_agent/cases/
#   protocol          the agent replies of those cases (`agent.replay`, recorded agent rows),
#                     as a program's lines and as HTTP bodies, for the scripted and the
#                     rule-following call
#   numbers           every string of the case files (what callers and agents say)
#   tool_arguments    every pair of argument objects and mocks of one case file
#   merge             JSON reports of cases/ by the runner (target/debug/voice-harness, when
#                     built), whole and in shards
#   sse               the same agent replies as an OpenAI-compatible server's answers: streamed
#                     a few words a delta (tool calls in fragments), and as JSON completions
#   retell            the same agent replies as a Retell server's response frames, one turn
#                     each, with its tool calls as invocations and results
#   import            every export of tests/import/, read as each platform's, recorded and
#                     as a script
# Usage: fuzz/seeds.sh (from anywhere). Needs python3.
set -euo pipefail
cd "$(dirname "$0")"

targets="load validate protocol merge numbers tool_arguments sse retell import"
for target in $targets; do
    mkdir -p "corpus/$target"
    cp regressions/"$target"/* "corpus/$target/"
done

python3 - <<'EOF'
import glob, hashlib, json, os

def save(target, data):
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogatepass")
    name = hashlib.sha1(data).hexdigest()
    with open(f"corpus/{target}/repo_{name}", "wb") as f:
        f.write(data)

def enc(text):
    return text.encode("utf-8", "surrogatepass")

def save_sse(replies):
    """The replies as an OpenAI-compatible server's answers (src/fuzz/sse.rs): streamed, and
    as JSON completions; a reply with tool calls is one answer of calls, then its text."""
    streamed, whole = [], []
    for reply in replies:
        text = str(reply.get("text", ""))
        calls = [c for c in reply.get("tool_calls") or [] if isinstance(c, dict)]
        if calls:
            events = []
            for i, c in enumerate(calls[:4]):
                args = json.dumps(c.get("arguments", {}))
                events.append({"choices": [{"index": 0, "delta": {"tool_calls": [{"index": i, "id": f"c{i}", "type": "function", "function": {"name": str(c.get("name", "")), "arguments": ""}}]}}]})
                half = len(args) // 2
                for part in (args[:half], args[half:]):
                    events.append({"choices": [{"index": 0, "delta": {"tool_calls": [{"index": i, "function": {"arguments": part}}]}}]})
            streamed.append(b"\x00" + enc("".join(f"data: {json.dumps(e)}\n\n" for e in events) + "data: [DONE]\n\n"))
            message = {"role": "assistant", "content": None, "tool_calls": [{"id": f"c{i}", "type": "function", "function": {"name": str(c.get("name", "")), "arguments": json.dumps(c.get("arguments", {}))}} for i, c in enumerate(calls[:4])]}
            whole.append(b"\x01" + enc(json.dumps({"choices": [{"index": 0, "message": message}]})))
        words = text.split(" ")
        deltas = [" ".join(words[i:i + 3]) + (" " if i + 3 < len(words) else "") for i in range(0, len(words), 3)]
        events = [{"choices": [{"index": 0, "delta": {"role": "assistant"}}]}] + [{"choices": [{"index": 0, "delta": {"content": d}}]} for d in deltas]
        streamed.append(b"\x00" + enc("".join(f"data: {json.dumps(e)}\n\n" for e in events) + "data: [DONE]\n\n"))
        whole.append(b"\x01" + enc(json.dumps({"choices": [{"index": 0, "message": {"role": "assistant", "content": text}}]})))
    for seed, answers in ((0, streamed), (3, streamed), (6, whole)):
        if answers:
            save("sse", bytes([seed]) + b"\0".join(answers[:8]))

def save_retell(replies):
    """The replies as a Retell server's frames (ops of src/fuzz/retell.rs): an empty begin
    message, then a turn each, its text in responses of at most 40 bytes."""
    ops = bytearray()
    for reply in replies:
        ops += bytes([9, 0])
        for i, c in enumerate((reply.get("tool_calls") or [])[:2]):
            ops += bytes([1, i << 6, 2, i << 6])
        data = enc(str(reply.get("text", "")))
        pieces = [data[i:i + 40] for i in range(0, len(data), 40)] or [b""]
        for j, piece in enumerate(pieces):
            ops += bytes([0, 0, 1 if j == len(pieces) - 1 else 0, len(piece)]) + piece
    save("retell", bytes(ops))

files = sorted(
    glob.glob("../cases/**/*.json", recursive=True)
    + glob.glob("../tests/hostile/*.json")
    + glob.glob("../tests/custom_agent/cases/*.json")
)
for path in files:
    raw = open(path, "rb").read()
    save("load", raw)
    try:
        case = json.loads(raw)
    except Exception:
        continue

    strings, objects, replies = [], [], []

    def walk(node, key=None):
        if isinstance(node, str):
            strings.append(node)
        elif isinstance(node, list):
            for item in node:
                walk(item, key)
        elif isinstance(node, dict):
            for k, v in node.items():
                if k in ("arguments", "match", "result") and isinstance(v, dict):
                    objects.append(v)
                walk(v, k)

    walk(case)
    if not isinstance(case, dict):
        continue
    agent = case.get("agent")
    if isinstance(agent, dict):
        for item in agent.get("replay") or []:
            if isinstance(item, str):
                replies.append({"text": item})
            elif isinstance(item, dict) and "text" in item:
                reply = {"text": item["text"]}
                if item.get("tool_calls"):
                    reply["tool_calls"] = item["tool_calls"]
                replies.append(reply)
    for row in case.get("transcript") or []:
        if isinstance(row, dict) and row.get("speaker") == "agent":
            replies.append({"text": row.get("text", "")})

    for s in strings:
        save("numbers", s)
    for a in objects:
        for b in objects:
            save("tool_arguments", json.dumps(a) + "\n" + json.dumps(b))
    if replies:
        lines = [json.dumps(r) for r in replies]
        for mode in (0, 2):
            save("protocol", bytes([mode]) + "\n".join(lines).encode("utf-8", "surrogatepass") + b"\n")
        for mode in (1, 3):
            save("protocol", bytes([mode]) + b"\0".join(l.encode("utf-8", "surrogatepass") for l in lines))
        save_sse(replies[:8])
        save_retell(replies[:7])

for path in sorted(glob.glob("../tests/import/**/*.json", recursive=True)):
    raw = open(path, "rb").read()
    for mode in range(8):
        save("import", bytes([mode]) + raw)
EOF

runner=../target/debug/voice-harness
if [ -x "$runner" ]; then
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    for dir in ../cases/*/; do
        name=$(basename "$dir")
        "$runner" run "$dir" --json "$tmp/$name.json" -q >/dev/null 2>&1 || true
        "$runner" run "$dir" --shard 1/2 --json "$tmp/$name-1.json" -q >/dev/null 2>&1 || true
        "$runner" run "$dir" --shard 2/2 --json "$tmp/$name-2.json" -q >/dev/null 2>&1 || true
        [ -s "$tmp/$name.json" ] && cp "$tmp/$name.json" "corpus/merge/repo_$name"
        if [ -s "$tmp/$name-1.json" ] && [ -s "$tmp/$name-2.json" ]; then
            { cat "$tmp/$name-1.json"; printf '\0'; cat "$tmp/$name-2.json"; } >"corpus/merge/repo_$name-shards"
        fi
    done
else
    echo "seeds.sh: $runner is not built; the merge corpus is its saved inputs only" >&2
fi

for target in $targets; do
    echo "corpus/$target: $(find "corpus/$target" -type f | wc -l) inputs"
done
