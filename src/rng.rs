//! The crate's own seeded generator and seed derivation (docs/case-format.md, "Time and latency").
//!
//! Both algorithms are fixed by this crate, not by a dependency, so a case's fillers are the
//! same on every machine and release:
//!
//! - **Seed derivation**: a case without `seed` uses the 64-bit FNV-1a hash of its `test_id`'s
//!   UTF-8 bytes (offset basis `0xcbf29ce484222325`, prime `0x100000001b3`).
//! - **Generator**: SplitMix64 (Steele, Lea and Flood, 2014). `next_u64` adds
//!   `0x9e3779b97f4a7c15` to the state and mixes it; a fraction in `[0, 1)` is the top 53 bits
//!   divided by 2⁵³; a choice below `n` is `next_u64() % n`.
//!
//! The simulator draws exactly three numbers per caller line, in this order, whether or not a
//! filler is inserted: the roll (a filler is inserted when `roll < disfluency_rate`), the
//! filler (an index into [`FILLERS`](crate::FILLERS)), and the position (the number of words
//! of the line that come before the filler, `0..=words`). So changing the rate never shifts
//! the choices made for later lines.

/// 64-bit FNV-1a hash of `bytes`: the seed of a case that does not set one.
///
/// ```
/// assert_eq!(voice_harness::case::seed_for_test_id("billing_inquiry_v1"), 0x2be9_c2be_0d0f_49de);
/// ```
pub fn seed_for_test_id(test_id: &str) -> u64 {
    test_id.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// SplitMix64: small, fast, and fully specified (see the module docs).
#[derive(Debug, Clone)]
pub(crate) struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    pub(crate) fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A fraction in `[0, 1)` from the top 53 bits.
    pub(crate) fn next_fraction(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A choice in `0..n` (`n > 0`). The modulo bias is below 2⁻⁶⁰ for the small `n` used here.
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference outputs of SplitMix64 for seed 1234567 (as published with the algorithm).
    #[test]
    fn splitmix64_reference_vectors() {
        let mut rng = SplitMix64::new(1_234_567);
        let got: Vec<u64> = (0..5).map(|_| rng.next_u64()).collect();
        assert_eq!(
            got,
            [
                6_457_827_717_110_365_317,
                3_203_168_211_198_807_973,
                9_817_491_932_198_370_423,
                4_593_380_528_125_082_431,
                16_408_922_859_458_223_821,
            ]
        );
    }

    /// Published FNV-1a 64 test vectors.
    #[test]
    fn fnv1a_reference_vectors() {
        assert_eq!(seed_for_test_id(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(seed_for_test_id("a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(seed_for_test_id("foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn fractions_stay_below_one_and_choices_below_n() {
        let mut rng = SplitMix64::new(0);
        for _ in 0..10_000 {
            let f = rng.next_fraction();
            assert!((0.0..1.0).contains(&f));
            assert!(rng.below(5) < 5);
        }
    }

    /// Pinned draws of the simulator for the Python port's seed 58: roll, filler 0 (`um`),
    /// position 0.
    #[test]
    fn seed_58_draws_um_at_position_zero() {
        let mut rng = SplitMix64::new(58);
        let _roll = rng.next_fraction();
        assert_eq!(rng.below(5), 0);
        assert_eq!(rng.below(4), 0);
    }
}
