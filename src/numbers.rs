//! Spoken and written numbers read as the same digits (`"matching": {"numbers":
//! "spoken"}`, docs/case-format.md "Spoken numbers").
//!
//! Works on the words of a text (already lowercased and split, docs/case-format.md
//! "Matching"). Every maximal run of number words and digit words becomes one word: the
//! digits of each number in the run, written one after the other. So `5512`, `five five one
//! two`, `fifty five twelve` and `55 12` are all `5512`; `11:30` (`11 30`) and `eleven thirty`
//! are `1130`; `twelve hundred`, `12 hundred` and `1,200` are `1200`; `four oh eight` is
//! `408`; `nineteen ninety nine` is `1999`; `double five` is `55`.
//!
//! A number in words is read the way people say them: units, teens and tens add up
//! (`twenty one` = 21); `hundred`, `thousand`, `million` and `billion` multiply what comes
//! before (`two thousand and five` = 2005, `twelve hundred` = 1200, `one thousand million`
//! = 10⁹), and so do digits right before a scale word (`5 million` = 5000000); digits below
//! the scale after one add to it (`twelve hundred 30` = 1230); a unit after a unit, a teen
//! or tens after a unit, teen or tens, starts the next number (`one two` = 1, 2; `nineteen
//! ninety` = 19, 90). Digits of their own are kept as written, leading zeros too.
//!
//! `oh` (and `o`) is zero only between numbers (SPEC §12): a run of them right after a
//! unit, teen, tens word or digits, and followed by one of those, `double`/`triple`, or
//! the end of the text (`four oh eight` = 408, `eleven oh five` = 1105, `one oh oh` = 100).
//! Anywhere else it is a word: `seven o'clock` keeps its seven and its `o`, `Oh, five works`
//! its `oh`. `and` joins only inside a number. Ordinals (`first`) are left as words.

use std::borrow::Cow;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    /// 0–9.
    Unit,
    /// 10–19.
    Teen,
    /// 20, 30, … 90.
    Tens,
}

fn small(word: &str) -> Option<(u64, Kind)> {
    let value = match word {
        "zero" => 0,
        "one" => 1,
        "two" => 2,
        "three" => 3,
        "four" => 4,
        "five" => 5,
        "six" => 6,
        "seven" => 7,
        "eight" => 8,
        "nine" => 9,
        "ten" => 10,
        "eleven" => 11,
        "twelve" => 12,
        "thirteen" => 13,
        "fourteen" => 14,
        "fifteen" => 15,
        "sixteen" => 16,
        "seventeen" => 17,
        "eighteen" => 18,
        "nineteen" => 19,
        "twenty" => 20,
        "thirty" => 30,
        "forty" => 40,
        "fifty" => 50,
        "sixty" => 60,
        "seventy" => 70,
        "eighty" => 80,
        "ninety" => 90,
        _ => return None,
    };
    let kind = match value {
        0..=9 => Kind::Unit,
        10..=19 => Kind::Teen,
        _ => Kind::Tens,
    };
    Some((value, kind))
}

fn scale(word: &str) -> Option<u64> {
    match word {
        "hundred" => Some(100),
        "thousand" => Some(1_000),
        "million" => Some(1_000_000),
        "billion" => Some(1_000_000_000),
        _ => None,
    }
}

fn is_digits(word: &str) -> bool {
    !word.is_empty() && word.bytes().all(|b| b.is_ascii_digit())
}

fn is_oh(word: &str) -> bool {
    word == "oh" || word == "o"
}

/// A number that is not a scale: a unit, teen or tens word, or digits. `oh` is zero only
/// with one of these right before it (and one after, or nothing).
fn is_count(word: &str) -> bool {
    small(word).is_some() || is_digits(word)
}

/// The value of digits that a scale word multiplies or that add to a number in words
/// (`12 hundred`, `5 million 300 thousand`); `None` when too long to be one.
fn digits_value(word: &str) -> Option<u64> {
    if word.len() > 18 {
        return None;
    }
    word.parse().ok()
}

/// Which words are an `oh` (or `o`) read as zero: a run of them with a number right before
/// it (not a scale word) and, right after it, a number, `double`/`triple`, or the end of
/// the text. So `four oh eight` is 408 and `one oh oh` 100, while `seven o'clock` keeps its
/// `o` and `Oh, five works` its `oh`. Empty when there is none (most texts: no allocation).
fn zeros(words: &[Cow<'_, str>]) -> Vec<bool> {
    let mut zero = Vec::new();
    let mut i = 0;
    while i < words.len() {
        if !is_oh(&words[i]) {
            i += 1;
            continue;
        }
        let end = (i..words.len())
            .find(|&j| !is_oh(&words[j]))
            .unwrap_or(words.len());
        let before = i > 0 && is_count(&words[i - 1]);
        let after = words
            .get(end)
            .is_none_or(|w| is_count(w) || matches!(w.as_ref(), "double" | "triple"));
        if before && after {
            zero.resize(words.len(), false);
            zero[i..end].fill(true);
        }
        i = end;
    }
    zero
}

/// One number being read in words.
#[derive(Default)]
struct Reading {
    /// Thousands, millions and billions done so far.
    total: u64,
    /// The part below the last scale word.
    part: u64,
    /// Whether a number was said since the last scale word (`zero thousand` is 0, a bare
    /// `thousand` 1000).
    part_said: bool,
    /// The last of `thousand`, `million`, `billion` read.
    big: Option<u64>,
    /// What the last word was: a small number, digits, or a scale (`hundred` etc.).
    last: Option<Last>,
    /// Any word was read.
    started: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Last {
    Small(Kind),
    /// Digits (`12` of `12 hundred`): only a scale word continues them.
    Digits,
    Hundred,
    Big,
}

impl Reading {
    /// Whether `value` of `kind` continues this number (else it starts the next).
    fn takes_small(&self, kind: Kind) -> bool {
        match self.last {
            None => true,
            Some(Last::Hundred | Last::Big) => true,
            Some(Last::Small(Kind::Tens)) => kind == Kind::Unit,
            Some(Last::Small(_) | Last::Digits) => false,
        }
    }

    /// Whether digits worth `value` continue this number: below a hundred after `hundred`
    /// (`twelve hundred 30`), below a thousand after a larger scale (`5 million 300
    /// thousand`).
    fn takes_digits(&self, value: u64) -> bool {
        match self.last {
            Some(Last::Hundred) => value < 100,
            Some(Last::Big) => value < 1_000,
            _ => false,
        }
    }

    fn add(&mut self, value: u64, last: Last) {
        self.part = self.part.saturating_add(value);
        self.part_said = true;
        self.last = Some(last);
        self.started = true;
    }

    fn hundred(&mut self) {
        let below = if self.part_said { self.part } else { 1 };
        self.part = below.saturating_mul(100);
        self.part_said = true;
        self.last = Some(Last::Hundred);
        self.started = true;
    }

    fn big(&mut self, factor: u64) {
        let below = if self.part_said { self.part } else { 1 };
        if self.big.is_some_and(|big| big < factor) {
            // `one thousand million`: all of it so far is multiplied.
            self.total = self.total.saturating_add(self.part).saturating_mul(factor);
        } else {
            self.total = self.total.saturating_add(below.saturating_mul(factor));
        }
        self.part = 0;
        self.part_said = false;
        self.big = Some(factor);
        self.last = Some(Last::Big);
        self.started = true;
    }

    fn value(&self) -> u64 {
        self.total.saturating_add(self.part)
    }
}

/// `double five` is 5 twice, `triple oh` 0 three times.
fn repeated(word: &str, next: Option<&Cow<'_, str>>) -> Option<(usize, u64)> {
    let times = match word {
        "double" => 2,
        "triple" => 3,
        _ => return None,
    };
    let next = next?.as_ref();
    let value = match small(next) {
        Some((value, Kind::Unit)) => value,
        _ if is_oh(next) => 0,
        _ => return None,
    };
    Some((times, value))
}

/// The words of a text with numbers read as digits (see the module docs).
pub(crate) fn read<'a>(words: &[Cow<'a, str>]) -> Vec<Cow<'a, str>> {
    let mut out: Vec<Cow<'a, str>> = Vec::with_capacity(words.len());
    // The digits of the run of numbers in progress.
    let mut run = String::new();
    let mut reading = Reading::default();
    let finish = |reading: &mut Reading, run: &mut String| {
        if reading.started {
            run.push_str(&reading.value().to_string());
        }
        *reading = Reading::default();
    };
    let zero = zeros(words);
    let mut i = 0;
    while i < words.len() {
        let word = words[i].as_ref();
        if is_digits(word) {
            let value = digits_value(word);
            let plain = word.len() == 1 || !word.starts_with('0');
            let scaled = words.get(i + 1).is_some_and(|w| scale(w).is_some());
            match value {
                Some(value) if plain && reading.takes_digits(value) => {
                    reading.add(value, Last::Digits);
                }
                Some(value) if scaled => {
                    finish(&mut reading, &mut run);
                    reading.add(value, Last::Digits);
                }
                // Digits of their own are kept as written (leading zeros too).
                _ => {
                    finish(&mut reading, &mut run);
                    run.push_str(word);
                }
            }
        } else if let Some((value, kind)) = small(word) {
            if !reading.takes_small(kind) {
                finish(&mut reading, &mut run);
            }
            reading.add(value, Last::Small(kind));
        } else if let Some(factor) = scale(word) {
            if factor == 100 {
                if reading.last == Some(Last::Hundred) {
                    finish(&mut reading, &mut run);
                }
                reading.hundred();
            } else {
                reading.big(factor);
            }
        } else if zero.get(i).copied().unwrap_or(false) {
            // A zero read out among digits: `four oh eight`.
            finish(&mut reading, &mut run);
            run.push('0');
        } else if let Some((times, value)) = repeated(word, words.get(i + 1)) {
            finish(&mut reading, &mut run);
            for _ in 0..times {
                run.push_str(&value.to_string());
            }
            i += 2;
            continue;
        } else if word == "and"
            && matches!(reading.last, Some(Last::Hundred | Last::Big))
            && words.get(i + 1).is_some_and(|w| small(w).is_some())
        {
            // `two thousand and five`: the number goes on.
        } else {
            finish(&mut reading, &mut run);
            if !run.is_empty() {
                out.push(Cow::Owned(std::mem::take(&mut run)));
            }
            out.push(words[i].clone());
        }
        i += 1;
    }
    finish(&mut reading, &mut run);
    if !run.is_empty() {
        out.push(Cow::Owned(run));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digits(text: &str) -> String {
        let words: Vec<Cow<'_, str>> = text.split(' ').map(Cow::Borrowed).collect();
        read(&words).join(" ")
    }

    #[test]
    fn forms() {
        assert_eq!(digits("five five one two"), "5512");
        assert_eq!(digits("fifty five twelve"), "5512");
        assert_eq!(digits("5512"), "5512");
        assert_eq!(digits("eleven thirty"), "1130");
        assert_eq!(digits("11 30"), "1130");
        assert_eq!(digits("twenty one"), "21");
        assert_eq!(digits("twelve hundred"), "1200");
        assert_eq!(digits("one thousand two hundred"), "1200");
        assert_eq!(digits("four oh eight"), "408");
        assert_eq!(digits("nineteen ninety nine"), "1999");
        assert_eq!(digits("double five"), "55");
        assert_eq!(digits("two thousand and five"), "2005");
        assert_eq!(digits("three million four hundred thousand"), "3400000");
        assert_eq!(digits("table for two at seven"), "table for 2 at 7");
        assert_eq!(digits("oh no"), "oh no");
        assert_eq!(digits("rock and roll"), "rock and roll");
        assert_eq!(digits("one and two"), "1 and 2");
    }

    #[test]
    fn oh_is_zero_only_between_numbers() {
        assert_eq!(digits("seven o clock"), "7 o clock");
        assert_eq!(digits("oh five works"), "oh 5 works");
        assert_eq!(digits("one oh oh"), "100");
        assert_eq!(digits("one oh oh clock"), "1 oh oh clock");
        assert_eq!(digits("one two oh"), "120");
        assert_eq!(digits("eleven oh five"), "1105");
        assert_eq!(digits("4 oh 8"), "408");
        assert_eq!(digits("five oh double seven"), "5077");
        assert_eq!(digits("hundred oh five"), "100 oh 5");
        assert_eq!(digits("oh oh seven"), "oh oh 7");
        assert_eq!(digits("double oh seven"), "007");
    }

    #[test]
    fn digits_before_a_scale_word_multiply() {
        assert_eq!(digits("5 million"), "5000000");
        assert_eq!(digits("12 hundred"), "1200");
        assert_eq!(digits("12 hundred 34"), "1234");
        assert_eq!(digits("5 million 300 thousand 12"), "5300012");
        assert_eq!(digits("twelve hundred 30"), "1230");
        assert_eq!(digits("one thousand million"), "1000000000");
        assert_eq!(digits("one billion"), "1000000000");
        assert_eq!(digits("two million five thousand"), "2005000");
        // Digits of their own stay as written.
        assert_eq!(digits("408 555 0100"), "4085550100");
        assert_eq!(digits("thousand 05"), "100005");
        assert_eq!(
            digits("99999999999999999999999 million"),
            "999999999999999999999991000000"
        );
    }

    #[test]
    fn huge_numbers_saturate_without_panicking() {
        let many = ["nine hundred million"; 12].join(" thousand ");
        assert!(!digits(&many).is_empty());
        assert_eq!(
            digits("twenty thousand million billion"),
            u64::MAX.to_string()
        );
    }
}
