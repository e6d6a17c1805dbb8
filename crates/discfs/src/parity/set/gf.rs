//! GF(2^8) arithmetic for the set code: the field with the polynomial x^8 + x^4 + x^3 + x^2 + 1
//! (0x11D, generator 2), and a multiply-accumulate over byte slices.
//!
//! Multiplying by a constant c is linear over GF(2): c·x is the XOR, over the bits b of x that
//! are set, of c·2^b. [`Multiplier`] holds those eight products, each repeated in the eight
//! bytes of a `u64`; [`Multiplier::mul_add`] then takes eight bytes at a time with shifts,
//! masks and XORs only (no table look-ups), which the compiler vectorises.

/// The field's reduction polynomial.
pub const POLY: u16 = 0x11D;

const fn tables() -> ([u8; 512], [u8; 256]) {
    let mut exp = [0u8; 512];
    let mut log = [0u8; 256];
    let mut x: u16 = 1;
    let mut i = 0;
    while i < 255 {
        exp[i] = x as u8;
        exp[i + 255] = x as u8;
        log[x as usize] = i as u8;
        x <<= 1;
        if x & 0x100 != 0 {
            x ^= POLY;
        }
        i += 1;
    }
    (exp, log)
}

static TABLES: ([u8; 512], [u8; 256]) = tables();

/// a·b in the field.
pub fn mul(a: u8, b: u8) -> u8 {
    if a == 0 || b == 0 {
        return 0;
    }
    let (exp, log) = &TABLES;
    exp[usize::from(log[usize::from(a)]) + usize::from(log[usize::from(b)])]
}

/// The inverse of `a` (`a` ≠ 0; 0 gives 0).
pub fn inv(a: u8) -> u8 {
    if a == 0 {
        return 0;
    }
    let (exp, log) = &TABLES;
    exp[255 - usize::from(log[usize::from(a)])]
}

const LOW_BITS: u64 = 0x0101_0101_0101_0101;

/// Multiplication by one constant, ready for [`mul_add`](Self::mul_add).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Multiplier {
    c: u8,
    /// c·2^b in every byte, for b = 0‥7.
    planes: [u64; 8],
}

impl Multiplier {
    /// Multiplication by `c`.
    pub fn new(c: u8) -> Multiplier {
        let mut planes = [0u64; 8];
        for (b, plane) in planes.iter_mut().enumerate() {
            *plane = u64::from(mul(c, 1 << b)) * LOW_BITS;
        }
        Multiplier { c, planes }
    }

    /// The constant.
    pub fn constant(&self) -> u8 {
        self.c
    }

    #[inline(always)]
    fn word(&self, w: u64) -> u64 {
        let mut r = 0;
        for (b, plane) in self.planes.iter().enumerate() {
            // Bit b of every byte, spread to the whole byte (0x01 → 0xFF, no carry across).
            let bits = (w >> b) & LOW_BITS;
            r ^= ((bits << 8).wrapping_sub(bits)) & plane;
        }
        r
    }

    /// `dst[i] ^= c · src[i]` for every byte (`dst` and `src` of one length).
    pub fn mul_add(&self, dst: &mut [u8], src: &[u8]) {
        assert_eq!(dst.len(), src.len(), "mul_add over slices of one length");
        match self.c {
            0 => return,
            1 => {
                for (d, s) in dst.iter_mut().zip(src) {
                    *d ^= s;
                }
                return;
            }
            _ => {}
        }
        // Four words at a time: independent chains the processor runs side by side.
        let mut d32 = dst.chunks_exact_mut(32);
        let mut s32 = src.chunks_exact(32);
        for (d, s) in (&mut d32).zip(&mut s32) {
            let mut w = [0u64; 4];
            for (k, w) in w.iter_mut().enumerate() {
                let s = u64::from_le_bytes(s[k * 8..k * 8 + 8].try_into().expect("8 bytes"));
                let v = u64::from_le_bytes(d[k * 8..k * 8 + 8].try_into().expect("8 bytes"));
                *w = v ^ self.word(s);
            }
            for (k, w) in w.iter().enumerate() {
                d[k * 8..k * 8 + 8].copy_from_slice(&w.to_le_bytes());
            }
        }
        let mut d8 = d32.into_remainder().chunks_exact_mut(8);
        let mut s8 = s32.remainder().chunks_exact(8);
        for (d, s) in (&mut d8).zip(&mut s8) {
            let s = u64::from_le_bytes(s.try_into().expect("8 bytes"));
            let v = u64::from_le_bytes((&*d).try_into().expect("8 bytes")) ^ self.word(s);
            d.copy_from_slice(&v.to_le_bytes());
        }
        for (d, s) in d8.into_remainder().iter_mut().zip(s8.remainder()) {
            *d ^= mul(self.c, *s);
        }
    }
}

/// `dst[i] ^= c · src[i]` by a 256-entry product table: the plain way, kept to check
/// [`Multiplier::mul_add`] against and to measure it by.
pub fn mul_add_by_table(c: u8, dst: &mut [u8], src: &[u8]) {
    let table: [u8; 256] = std::array::from_fn(|x| mul(c, x as u8));
    for (d, s) in dst.iter_mut().zip(src) {
        *d ^= table[usize::from(*s)];
    }
}

/// Inverts the `n`×`n` matrix `m` (row-major) in place; `false` if it is singular.
pub fn invert(m: &mut [u8], n: usize) -> bool {
    let mut inv_m = vec![0u8; n * n];
    for i in 0..n {
        inv_m[i * n + i] = 1;
    }
    for col in 0..n {
        let Some(pivot) = (col..n).find(|&r| m[r * n + col] != 0) else {
            return false;
        };
        if pivot != col {
            for k in 0..n {
                m.swap(pivot * n + k, col * n + k);
                inv_m.swap(pivot * n + k, col * n + k);
            }
        }
        let scale = inv(m[col * n + col]);
        for k in 0..n {
            m[col * n + k] = mul(m[col * n + k], scale);
            inv_m[col * n + k] = mul(inv_m[col * n + k], scale);
        }
        for r in 0..n {
            let f = m[r * n + col];
            if r == col || f == 0 {
                continue;
            }
            for k in 0..n {
                m[r * n + k] ^= mul(f, m[col * n + k]);
                inv_m[r * n + k] ^= mul(f, inv_m[col * n + k]);
            }
        }
    }
    m.copy_from_slice(&inv_m);
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_axioms_hold() {
        for a in 1..=255u8 {
            assert_eq!(mul(a, inv(a)), 1, "{a}");
            assert_eq!(mul(a, 1), a);
        }
        // 2^8 = x^4 + x^3 + x^2 + 1 under 0x11D.
        assert_eq!(mul(0x80, 2), 0x1D);
        for (a, b, c) in [(3u8, 7u8, 200u8), (91, 255, 16), (128, 129, 130)] {
            assert_eq!(mul(a, b ^ c), mul(a, b) ^ mul(a, c));
            assert_eq!(mul(mul(a, b), c), mul(a, mul(b, c)));
        }
    }

    #[test]
    fn the_bit_sliced_product_is_the_table_product() {
        let src: Vec<u8> = (0..1031u32).map(|i| (i * 37 + i / 5) as u8).collect();
        for c in [0u8, 1, 2, 3, 0x1D, 0x80, 0xFE, 0xFF, 142] {
            let mut fast: Vec<u8> = (0..src.len()).map(|i| (i * 11) as u8).collect();
            let mut slow = fast.clone();
            Multiplier::new(c).mul_add(&mut fast, &src);
            mul_add_by_table(c, &mut slow, &src);
            assert_eq!(fast, slow, "c = {c}");
        }
    }

    #[test]
    fn a_matrix_times_its_inverse_is_the_identity() {
        let n = 5;
        let m: Vec<u8> = (0..n * n).map(|i| inv((i as u8) ^ 0x40)).collect();
        let mut i_m = m.clone();
        assert!(invert(&mut i_m, n));
        for r in 0..n {
            for c in 0..n {
                let v = (0..n).fold(0, |acc, k| acc ^ mul(m[r * n + k], i_m[k * n + c]));
                assert_eq!(v, u8::from(r == c));
            }
        }
        let mut singular = vec![1u8, 2, 2, 4];
        assert!(!invert(&mut singular, 2));
    }
}
