//! Bit-level packing for snapshot bodies: a writer, a bounds-checked reader, and "columns".
//!
//! A column is a list of integers packed as `base + offset`: `base` is the smallest value, and
//! every offset is written either in a fixed number of bits or as an exp-Golomb code, whichever
//! is shorter for that column (a lone value is written as its base alone). A column whose values
//! are all equal costs a few header bits and
//! nothing per value; 64 position deltas in [-32, 32] cost 7 bits each.
//!
//! Bits are written least significant first. Every read checks the input length, and every
//! decoded value is range-checked by the caller, so any byte string decodes or fails cleanly.

/// Why packed bits do not decode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BitsError {
    /// The input ended in the middle of a value.
    #[error("packed data ended early")]
    Truncated,
    /// A code or header describes a value wider than 32 bits.
    #[error("packed value out of range")]
    OutOfRange,
}

/// Appends bits to a byte vector.
#[derive(Debug, Default)]
pub(crate) struct BitWriter {
    bytes: Vec<u8>,
    /// Pending bits not yet in `bytes` (fewer than 8 between calls).
    acc: u64,
    pending: u32,
}

impl BitWriter {
    /// A writer with room for `bytes` bytes before it grows.
    pub(crate) fn with_capacity(bytes: usize) -> Self {
        Self {
            bytes: Vec::with_capacity(bytes),
            ..Self::default()
        }
    }

    /// Writes the low `width` bits of `value` (`width` at most 32).
    pub(crate) fn write(&mut self, value: u32, width: u32) {
        debug_assert!(width <= 32);
        self.write_wide(u64::from(value), width);
    }

    fn write_bit(&mut self, bit: bool) {
        self.write(u32::from(bit), 1);
    }

    /// Writes `value` as an exp-Golomb code of order `k`: small values are short, any u32 fits.
    pub(crate) fn write_golomb(&mut self, value: u32, k: u32) {
        let x = u64::from(value) + (1u64 << k);
        let high_bits = 63 - x.leading_zeros(); // bits after x's leading one
        // The unary prefix says how many bits follow beyond k; then x without its leading one.
        let zeros = high_bits - k;
        let rest = x & ((1u64 << high_bits) - 1);
        let width = zeros + 1 + high_bits;
        if width <= 56 {
            // The whole code at once: the zeros, the one, then the rest (least significant
            // bit first).
            return self.write_wide(((rest << 1) | 1) << zeros, width);
        }
        self.write(0, zeros);
        self.write_bit(true);
        // x < 2^33, so at most 32 bits follow the leading one.
        self.write(rest as u32, high_bits);
    }

    /// Writes the low `width` bits of `value` (`width` at most 56, so they fit beside the
    /// fewer than 8 pending bits).
    fn write_wide(&mut self, value: u64, width: u32) {
        debug_assert!(width <= 56);
        self.acc |= (value & ((1u64 << width) - 1)) << self.pending;
        self.pending += width;
        while self.pending >= 8 {
            self.bytes.push(self.acc as u8);
            self.acc >>= 8;
            self.pending -= 8;
        }
    }

    /// Writes a signed integer as a sign bit and an exp-Golomb(0) magnitude.
    pub(crate) fn write_signed(&mut self, value: i64) {
        self.write_bit(value < 0);
        // Column bases are 32-bit field values, so the magnitude fits in u32.
        self.write_golomb(value.unsigned_abs().min(u64::from(u32::MAX)) as u32, 0);
    }

    /// Writes a column (see the module docs). The values must span less than 2^32.
    pub(crate) fn write_column(&mut self, values: &[i64]) {
        let Some(&base) = values.iter().min() else {
            return; // The reader knows the count, so an empty column costs nothing.
        };
        if values.len() == 1 {
            return self.write_signed(base); // A lone value is its own base.
        }
        let max = values.iter().max().copied().unwrap_or(base);
        let offsets = values.iter().map(|&v| (v - base) as u32);
        let fixed_width = 32 - ((max - base) as u32).leading_zeros();
        let fixed_cost = u64::from(fixed_width) * values.len() as u64;
        let (golomb_k, golomb_cost) = best_golomb_order(offsets.clone(), fixed_width.min(31));
        self.write_signed(base);
        if fixed_cost <= golomb_cost {
            self.write_bit(false);
            self.write(fixed_width, 6);
            for offset in offsets {
                self.write(offset, fixed_width);
            }
        } else {
            self.write_bit(true);
            self.write(golomb_k, 5);
            for offset in offsets {
                self.write_golomb(offset, golomb_k);
            }
        }
    }

    /// The bytes written, the last one padded with zero bits.
    pub(crate) fn finish(mut self) -> Vec<u8> {
        if self.pending > 0 {
            self.bytes.push(self.acc as u8);
        }
        self.bytes
    }
}

/// The exp-Golomb order at most `max_k` that codes `offsets` in the fewest bits, and that
/// many bits. The total is nearly convex in the order (each value's length falls by a bit per
/// order until the order passes its size, then rises by one), so the search walks downhill
/// from the order of the mean offset and stops where the cost rises: three or four passes over
/// the column, not one per order. It finds the exact minimum but where a value's length has a
/// one-bit bump; the decoder reads the order either way.
fn best_golomb_order(offsets: impl Iterator<Item = u32> + Clone, max_k: u32) -> (u32, u64) {
    let cost = |k: u32| offsets.clone().map(|o| golomb_len(o, k)).sum::<u64>();
    let (sum, count) = offsets
        .clone()
        .fold((0u64, 0u64), |(s, n), o| (s + u64::from(o), n + 1));
    let mean = sum / count.max(1);
    let start = (63 - (mean + 1).leading_zeros()).min(max_k);
    let mut best = (start, cost(start));
    for step in [-1i64, 1] {
        let mut k = i64::from(start) + step;
        while (0..=i64::from(max_k)).contains(&k) {
            let c = cost(k as u32);
            if c >= best.1 {
                break;
            }
            best = (k as u32, c);
            k += step;
        }
    }
    best
}

/// The length in bits of `value`'s exp-Golomb code of order `k`.
fn golomb_len(value: u32, k: u32) -> u64 {
    let x = u64::from(value) + (1u64 << k);
    let high_bits = u64::from(63 - x.leading_zeros());
    2 * high_bits + 1 - u64::from(k)
}

/// Reads bits written by [`BitWriter`], failing cleanly at the end of the input.
#[derive(Debug)]
pub(crate) struct BitReader<'a> {
    bytes: &'a [u8],
    /// The next bit to read.
    position: usize,
}

impl<'a> BitReader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, position: 0 }
    }

    /// Reads `width` bits (at most 32).
    pub(crate) fn read(&mut self, width: u32) -> Result<u32, BitsError> {
        debug_assert!(width <= 32);
        let end = self.position + width as usize;
        if end > self.bytes.len() * 8 {
            return Err(BitsError::Truncated);
        }
        let mut value = 0u64;
        let mut got = 0;
        while got < width {
            let byte = self
                .bytes
                .get(self.position / 8)
                .ok_or(BitsError::Truncated)?;
            let offset = (self.position % 8) as u32;
            let take = (8 - offset).min(width - got);
            let bits = (u64::from(*byte) >> offset) & ((1u64 << take) - 1);
            value |= bits << got;
            got += take;
            self.position += take as usize;
        }
        Ok(value as u32)
    }

    fn read_bit(&mut self) -> Result<bool, BitsError> {
        Ok(self.read(1)? == 1)
    }

    /// Reads an exp-Golomb code of order `k`; codes for values over `u32::MAX` are refused.
    pub(crate) fn read_golomb(&mut self, k: u32) -> Result<u32, BitsError> {
        let mut zeros = 0;
        while !self.read_bit()? {
            zeros += 1;
            if zeros + k > 32 {
                return Err(BitsError::OutOfRange);
            }
        }
        let high_bits = zeros + k;
        let x = (1u64 << high_bits) | u64::from(self.read(high_bits)?);
        u32::try_from(x - (1u64 << k)).map_err(|_| BitsError::OutOfRange)
    }

    /// Reads a sign bit and an exp-Golomb(0) magnitude.
    pub(crate) fn read_signed(&mut self) -> Result<i64, BitsError> {
        let negative = self.read_bit()?;
        let magnitude = i64::from(self.read_golomb(0)?);
        Ok(if negative { -magnitude } else { magnitude })
    }

    /// Reads a column of `count` values into `out` (cleared first).
    pub(crate) fn read_column(
        &mut self,
        count: usize,
        out: &mut Vec<i64>,
    ) -> Result<(), BitsError> {
        out.clear();
        if count == 0 {
            return Ok(());
        }
        let base = self.read_signed()?;
        if count == 1 {
            out.push(base);
            return Ok(());
        }
        let golomb = self.read_bit()?;
        if golomb {
            let k = self.read(5)?;
            for _ in 0..count {
                out.push(base + i64::from(self.read_golomb(k)?));
            }
        } else {
            let width = self.read(6)?;
            if width > 32 {
                return Err(BitsError::OutOfRange);
            }
            for _ in 0..count {
                out.push(base + i64::from(self.read(width)?));
            }
        }
        Ok(())
    }

    /// Whether every bit but the final byte's zero padding has been read.
    pub(crate) fn is_at_end(&self) -> bool {
        self.bytes.len() == self.position.div_ceil(8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn golomb_codes_round_trip_at_every_order_and_edge_value() {
        let values = [
            0,
            1,
            2,
            3,
            63,
            64,
            65,
            1000,
            65_535,
            1 << 31,
            u32::MAX - 1,
            u32::MAX,
        ];
        for k in 0..=31 {
            let mut w = BitWriter::default();
            for &v in &values {
                w.write_golomb(v, k);
            }
            let bytes = w.finish();
            let mut r = BitReader::new(&bytes);
            for &v in &values {
                assert_eq!(r.read_golomb(k), Ok(v), "k={k}");
            }
            assert!(r.is_at_end());
        }
    }

    #[test]
    fn golomb_len_matches_what_is_written() {
        for k in 0..=20 {
            for v in [0, 1, 5, 100, 70_000, u32::MAX] {
                let mut w = BitWriter::default();
                w.write_golomb(v, k);
                let bits = w.bytes.len() as u64 * 8 + u64::from(w.pending);
                assert_eq!(bits, golomb_len(v, k));
            }
        }
    }

    #[test]
    fn the_order_search_is_within_a_bit_a_value_of_trying_every_order() {
        let mut seed = 0x2545_f491_u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..2000 {
            let n = (next() % 80 + 2) as usize;
            let bits = (next() % 24) as u32;
            let offsets: Vec<u32> = (0..n)
                .map(|_| (next() as u32) & ((1u32 << bits) - 1) >> (next() % 3))
                .collect();
            let max_k = 32 - offsets.iter().max().copied().unwrap_or(0).leading_zeros();
            let exact = (0..=max_k.min(31))
                .map(|k| offsets.iter().map(|&o| golomb_len(o, k)).sum::<u64>())
                .min()
                .unwrap_or(0);
            let (_, found) = best_golomb_order(offsets.iter().copied(), max_k.min(31));
            assert!(
                found >= exact && found - exact <= n as u64,
                "{found} vs {exact}"
            );
        }
    }

    #[test]
    fn a_constant_column_costs_only_its_header() {
        let mut w = BitWriter::default();
        w.write_column(&[3; 1000]);
        assert!(w.finish().len() <= 2);
    }

    #[test]
    fn small_deltas_take_seven_bits_each() {
        let deltas: Vec<i64> = (0..64).map(|i| i64::from(i % 65) - 32).collect();
        let mut w = BitWriter::default();
        w.write_column(&deltas);
        let bytes = w.finish();
        assert!(bytes.len() <= 64 * 7 / 8 + 3, "{} bytes", bytes.len());
        let mut out = Vec::new();
        BitReader::new(&bytes)
            .read_column(64, &mut out)
            .expect("decodes");
        assert_eq!(out, deltas);
    }

    #[test]
    fn columns_round_trip_extremes() {
        let columns: [&[i64]; 4] = [
            &[i64::from(i32::MIN), i64::from(i32::MAX), 0],
            &[0, i64::from(u32::MAX)],
            &[5, 0, 0, 0, 0, 0, 0, 0, 0, 1_000_000],
            &[-7],
        ];
        for values in columns {
            let mut w = BitWriter::default();
            w.write_column(values);
            let bytes = w.finish();
            let mut out = Vec::new();
            BitReader::new(&bytes)
                .read_column(values.len(), &mut out)
                .expect("decodes");
            assert_eq!(out, values);
        }
    }

    #[test]
    fn reading_past_the_end_or_overlong_codes_fail_cleanly() {
        assert_eq!(BitReader::new(&[]).read(1), Err(BitsError::Truncated));
        assert_eq!(
            BitReader::new(&[0; 8]).read_golomb(0),
            Err(BitsError::OutOfRange)
        );
        assert_eq!(
            BitReader::new(&[0x80]).read_golomb(0),
            Err(BitsError::Truncated)
        );
    }
}
