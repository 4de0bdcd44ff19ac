//! Spoken and written numbers read as the same digits (`"matching": {"numbers":
//! "spoken"}`, docs/case-format.md "Spoken numbers").
//!
//! Works on the words of a text (already lowercased and split, docs/case-format.md
//! "Matching"). Every maximal run of number words and digit words becomes one word: the
//! digits of each number in the run, written one after the other. So `5512`, `five five one
//! two`, `fifty five twelve` and `55 12` are all `5512`; `11:30` (`11 30`) and `eleven thirty`
//! are `1130`; `twelve hundred` and `1,200` are `1200`; `four oh eight` is `408`; `nineteen
//! ninety nine` is `1999`; `double five` is `55`.
//!
//! A number in words is read the way people say them: units, teens and tens add up
//! (`twenty one` = 21); `hundred`, `thousand` and `million` multiply what comes before
//! (`two thousand and five` = 2005, `twelve hundred` = 1200); a unit after a unit, a teen
//! or tens after a unit, teen or tens, starts the next number (`one two` = 1, 2; `nineteen
//! ninety` = 19, 90). `oh` is zero next to other number words; `and` joins only inside a
//! number. Ordinals (`first`) are left as words.

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
        _ => None,
    }
}

fn is_digits(word: &str) -> bool {
    !word.is_empty() && word.bytes().all(|b| b.is_ascii_digit())
}

fn is_number_word(word: &str) -> bool {
    small(word).is_some() || scale(word).is_some() || is_digits(word)
}

/// One number being read in words.
#[derive(Default)]
struct Reading {
    /// Thousands and millions done so far.
    total: u64,
    /// The part below the last scale word.
    part: u64,
    /// What the last word was: a small number, or a scale (`hundred` etc.).
    last: Option<Last>,
    /// An `and` was read, which must be followed by a small number.
    and: bool,
    /// Any word was read.
    started: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Last {
    Small(Kind),
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
            Some(Last::Small(_)) => false,
        }
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
        _ if next == "oh" || next == "o" => 0,
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
    let mut i = 0;
    while i < words.len() {
        let word = words[i].as_ref();
        let prev_number = i > 0 && is_number_word(&words[i - 1]);
        let next_number = words.get(i + 1).is_some_and(|w| is_number_word(w));
        if is_digits(word) {
            finish(&mut reading, &mut run);
            run.push_str(word);
        } else if let Some((value, kind)) = small(word) {
            if !reading.takes_small(kind) {
                finish(&mut reading, &mut run);
            }
            reading.part = reading.part.saturating_add(value);
            reading.last = Some(Last::Small(kind));
            reading.started = true;
            reading.and = false;
        } else if let Some(factor) = scale(word) {
            if factor == 100 {
                if reading.last == Some(Last::Hundred) {
                    finish(&mut reading, &mut run);
                }
                reading.part = reading.part.max(1).saturating_mul(100);
                reading.last = Some(Last::Hundred);
            } else {
                let below = reading.part.max(1);
                reading.total = reading.total.saturating_add(below.saturating_mul(factor));
                reading.part = 0;
                reading.last = Some(Last::Big);
            }
            reading.started = true;
            reading.and = false;
        } else if (word == "oh" || word == "o") && (prev_number || next_number) {
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
            reading.and = true;
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
}
