//! The set code: a systematic Cauchy Reed-Solomon code over GF(2^8).
//!
//! K members (data shards 0‥K−1) and N parity shards (K‥K+N−1). Parity shard i is, byte by
//! byte, Σⱼ c(i, j)·member j with c(i, j) = 1 / (xᵢ + yⱼ), xᵢ = i, yⱼ = N + j (all distinct,
//! K + N ≤ 256). Every square sub-matrix of a Cauchy matrix is invertible, so the generator
//! [I; C] is MDS: any K of the K + N shards give back all of them. The code is linear, so
//! each member can be folded into the parity alone, in any order, when it is written.

use super::SetError;
use super::gf::{self, Multiplier};

/// Most shards (members and parity) of one group.
pub const MAX_SHARDS: usize = 256;

/// The code of one group: K members, N parity shards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetCode {
    members: usize,
    parity: usize,
}

impl SetCode {
    /// The code for `members` members and `parity` parity shards.
    pub fn new(members: usize, parity: usize) -> Result<SetCode, SetError> {
        if members == 0 || parity == 0 || members + parity > MAX_SHARDS {
            return Err(SetError::Shape { members, parity });
        }
        Ok(SetCode { members, parity })
    }

    /// Members (K).
    pub fn members(&self) -> usize {
        self.members
    }

    /// Parity shards (N).
    pub fn parity(&self) -> usize {
        self.parity
    }

    /// c(i, j): the coefficient of member `j` in parity shard `i`.
    pub fn coefficient(&self, i: usize, j: usize) -> u8 {
        debug_assert!(i < self.parity && j < self.members);
        gf::inv((i as u8) ^ ((self.parity + j) as u8))
    }

    /// Row `shard` of the generator: the coefficients of the members in that shard.
    fn row(&self, shard: usize) -> Vec<u8> {
        if shard < self.members {
            (0..self.members).map(|j| u8::from(j == shard)).collect()
        } else {
            (0..self.members)
                .map(|j| self.coefficient(shard - self.members, j))
                .collect()
        }
    }

    /// Folds `bytes` of member `j` into the parity shards' same bytes:
    /// `parity[i] ^= c(i, j)·bytes` (every slice of `bytes`' length).
    pub fn fold(&self, j: usize, bytes: &[u8], parity: &mut [&mut [u8]]) {
        assert_eq!(parity.len(), self.parity, "one slice per parity shard");
        for (i, p) in parity.iter_mut().enumerate() {
            Multiplier::new(self.coefficient(i, j)).mul_add(p, bytes);
        }
    }

    /// How to compute the shards not `present` (indexed 0‥K+N: members, then parity) from
    /// K that are. Fails naming the missing shards when fewer than K are present.
    pub fn recovery(&self, present: &[bool]) -> Result<Recovery, SetError> {
        let k = self.members;
        assert_eq!(present.len(), k + self.parity, "one flag per shard");
        let sources: Vec<usize> = (0..present.len()).filter(|&s| present[s]).take(k).collect();
        let missing: Vec<usize> = (0..present.len()).filter(|&s| !present[s]).collect();
        if sources.len() < k {
            return Err(SetError::TooFewShards {
                missing,
                needed: k,
                present: sources.len(),
            });
        }
        let mut m: Vec<u8> = sources.iter().flat_map(|&s| self.row(s)).collect();
        if !gf::invert(&mut m, k) {
            // Cannot happen for a Cauchy code; a bug, not bad input.
            return Err(SetError::Shape {
                members: k,
                parity: self.parity,
            });
        }
        let targets = missing
            .iter()
            .map(|&t| {
                let row = self.row(t);
                // row · M⁻¹: the target as a combination of the sources.
                let coefficients = (0..k)
                    .map(|c| (0..k).fold(0, |acc, x| acc ^ gf::mul(row[x], m[x * k + c])))
                    .map(Multiplier::new)
                    .collect();
                (t, coefficients)
            })
            .collect();
        Ok(Recovery { sources, targets })
    }
}

/// Shards computed from others: each target is Σ coefficient·source.
#[derive(Debug, Clone)]
pub struct Recovery {
    /// The K shards read.
    pub sources: Vec<usize>,
    /// Each shard computed, with one multiplier per source.
    pub targets: Vec<(usize, Vec<Multiplier>)>,
}

impl Recovery {
    /// Computes the targets' bytes from the sources' same bytes (`sources` in the order of
    /// [`Recovery::sources`], `out` in the order of [`Recovery::targets`], zeroed first).
    pub fn apply(&self, sources: &[&[u8]], out: &mut [&mut [u8]]) {
        assert_eq!(sources.len(), self.sources.len());
        assert_eq!(out.len(), self.targets.len());
        for ((_, coefficients), o) in self.targets.iter().zip(out.iter_mut()) {
            o.fill(0);
            for (m, s) in coefficients.iter().zip(sources) {
                m.mul_add(o, s);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_outside_the_field_are_refused() {
        assert!(SetCode::new(0, 1).is_err());
        assert!(SetCode::new(3, 0).is_err());
        assert!(SetCode::new(200, 57).is_err());
        assert!(SetCode::new(200, 56).is_ok());
    }

    #[test]
    fn one_parity_shard_is_not_a_plain_xor_but_any_one_loss_is_rebuilt() {
        let code = SetCode::new(3, 1).unwrap();
        let members = [[1u8, 2, 3], [4, 5, 6], [7, 8, 9]];
        let mut parity = [0u8; 3];
        for (j, m) in members.iter().enumerate() {
            code.fold(j, m, &mut [&mut parity[..]]);
        }
        let r = code.recovery(&[true, false, true, true]).unwrap();
        assert_eq!(r.sources, [0, 2, 3]);
        let mut out = [0u8; 3];
        r.apply(&[&members[0], &members[2], &parity], &mut [&mut out[..]]);
        assert_eq!(out, members[1]);
        let e = code.recovery(&[true, false, true, false]).unwrap_err();
        assert!(matches!(e, SetError::TooFewShards { ref missing, .. } if missing == &[1, 3]));
    }
}
