//! Checksums generic over the word width and the unroll factor (a const generic): CRC with a table computed at
//! compile time, FNV-1a, and a polynomial rolling hash. Each (width, unroll) pair below is its own code.

use std::ops::{BitAnd, BitXor, Shl, Shr};

/// An unsigned word a checksum can be computed in.
pub trait Word: Copy + Eq + BitXor<Output = Self> + BitAnd<Output = Self> + Shr<u32, Output = Self> + Shl<u32, Output = Self> {
    const ZERO: Self;
    const ONE: Self;
    const BITS: u32;
    fn from_u8(b: u8) -> Self;
    fn wrapping_mul(self, other: Self) -> Self;
    fn wrapping_add(self, other: Self) -> Self;
    fn low_u64(self) -> u64;
}

macro_rules! impl_word {
    ($($t:ty),*) => {$(
        impl Word for $t {
            const ZERO: Self = 0;
            const ONE: Self = 1;
            const BITS: u32 = <$t>::BITS;
            fn from_u8(b: u8) -> Self { b as $t }
            fn wrapping_mul(self, other: Self) -> Self { <$t>::wrapping_mul(self, other) }
            fn wrapping_add(self, other: Self) -> Self { <$t>::wrapping_add(self, other) }
            fn low_u64(self) -> u64 { self as u64 }
        }
    )*};
}
impl_word!(u8, u16, u32, u64, u128);

/// A table-driven, reflected CRC over `W` with polynomial `poly`.
pub struct Crc<W: Word> {
    table: [W; 256],
}

impl<W: Word> Crc<W> {
    pub fn new(poly: W) -> Self {
        let mut table = [W::ZERO; 256];
        for (i, entry) in table.iter_mut().enumerate() {
            let mut c = W::from_u8(i as u8);
            for _ in 0..8 {
                c = if c & W::ONE == W::ONE { (c >> 1) ^ poly } else { c >> 1 };
            }
            *entry = c;
        }
        Crc { table }
    }

    /// The CRC of `data`, processing `U` bytes per loop iteration.
    #[inline(never)]
    pub fn checksum<const U: usize>(&self, init: W, data: &[u8]) -> W {
        let mut crc = init;
        let mut chunks = data.chunks_exact(U);
        for chunk in &mut chunks {
            for &b in chunk {
                let index = ((crc ^ W::from_u8(b)).low_u64() & 0xff) as usize;
                crc = self.table[index] ^ (crc >> 8.min(W::BITS - 1));
            }
        }
        for &b in chunks.remainder() {
            let index = ((crc ^ W::from_u8(b)).low_u64() & 0xff) as usize;
            crc = self.table[index] ^ (crc >> 8.min(W::BITS - 1));
        }
        crc
    }
}

/// FNV-1a over `W`, `U` bytes per iteration.
#[inline(never)]
pub fn fnv1a<W: Word, const U: usize>(offset: W, prime: W, data: &[u8]) -> W {
    let mut h = offset;
    for chunk in data.chunks(U) {
        for &b in chunk {
            h = (h ^ W::from_u8(b)).wrapping_mul(prime);
        }
    }
    h
}

/// A polynomial rolling hash of every window of `U` bytes, summed.
#[inline(never)]
pub fn rolling<W: Word, const U: usize>(base: W, data: &[u8]) -> W {
    let mut total = W::ZERO;
    for window in data.windows(U.max(1)) {
        let mut h = W::ZERO;
        for &b in window {
            h = h.wrapping_mul(base).wrapping_add(W::from_u8(b));
        }
        total = total.wrapping_add(h);
    }
    total
}

#[inline(never)]
fn exercise<W: Word, const U: usize>(data: &[u8]) -> u64 {
    let poly = W::from_u8(0xb7) << (W::BITS - 8) ^ W::from_u8(0x1d);
    let crc = Crc::<W>::new(poly).checksum::<U>(W::ZERO, data);
    let fnv = fnv1a::<W, U>(W::from_u8(0xc5), W::from_u8(0x93), data);
    let roll = rolling::<W, U>(W::from_u8(31), data);
    crc.low_u64() ^ fnv.low_u64().rotate_left(17) ^ roll.low_u64().rotate_left(41)
}

macro_rules! exercise_all {
    ($data:expr; [$($t:ty),*]; $sizes:tt) => {{
        let mut acc = 0u64;
        $( acc = acc.rotate_left(3) ^ exercise_all!(@sizes $data; $t; $sizes); )*
        acc
    }};
    (@sizes $data:expr; $t:ty; [$($n:literal),*]) => {{
        let mut acc = 0u64;
        $( acc = acc.wrapping_add(exercise::<$t, $n>($data)); )*
        acc
    }};
}

/// CRC-32 (IEEE 802.3, as zip and PNG use it) of `len` bytes at `data`.
///
/// # Safety
/// `data` must point to `len` readable bytes (or be null with `len` 0).
#[no_mangle]
pub unsafe extern "C" fn rustmix_hash_crc32(data: *const u8, len: usize) -> u32 {
    let bytes = if len == 0 { &[][..] } else { std::slice::from_raw_parts(data, len) };
    !Crc::<u32>::new(0xEDB8_8320).checksum::<8>(!0, bytes)
}

/// Runs every monomorphization once over `len` bytes at `data` and folds the results.
///
/// # Safety
/// `data` must point to `len` readable bytes (or be null with `len` 0).
#[no_mangle]
pub unsafe extern "C" fn rustmix_hash_self_test(data: *const u8, len: usize) -> u64 {
    let bytes = if len == 0 { &[][..] } else { std::slice::from_raw_parts(data, len) };
    exercise_all!(bytes; [u8, u16, u32, u64, u128]; [1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 14, 16, 20, 24, 32, 40, 48, 64, 96, 128])
}
