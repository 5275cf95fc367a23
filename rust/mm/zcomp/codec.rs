// SPDX-License-Identifier: GPL-2.0

//! How an algorithm compresses: through the crypto API, or through the kernel's library when
//! `algorithm_params` gives it a level or a dictionary.
//!
//! The crypto API compresses each algorithm at one level and without a dictionary. zram's
//! backends call the library for lz4, lz4hc and zstd with the level and dictionary of
//! `algorithm_params`; zcomp does the same for those three, and keeps the crypto API for an
//! algorithm given neither, so the default configuration compresses exactly as zswap does.
//! As zram, it ignores a level for algorithms without levels (lzo, lzo-rle, 842) and a
//! dictionary for those without dictionaries (the same and deflate). It refuses a deflate
//! level other than the crypto API's, which zram's deflate backend would honour. lz4 and
//! lz4hc use the last 64 KiB of a longer dictionary and none of one shorter than 8 bytes,
//! where zram's backends fail every compression, and so every write to the device.

use kernel::{
    compress::{lz4, zstd, Compressor},
    prelude::*,
    str::CStr,
    sync::Arc,
};

/// A compression dictionary, as read from the file `algorithm_params` names.
pub(crate) type Dict = Arc<VVec<u8>>;

/// What an algorithm is given besides its name: a write to `algorithm_params`.
#[derive(Clone, Default)]
pub(crate) struct Params {
    pub(crate) level: Option<i32>,
    pub(crate) dict: Option<Dict>,
}

impl Params {
    /// The parameters that matter to algorithm `name`: `None` for those it ignores, as zram
    /// ignores them. Fails with `EOPNOTSUPP` for those zcomp cannot honour.
    pub(crate) fn for_algorithm(&self, name: &CStr) -> Result<Params> {
        match name.as_bytes() {
            b"lz4" | b"lz4hc" | b"zstd" => Ok(self.clone()),
            // Z_DEFAULT_COMPRESSION, which zlib takes as 6, is the crypto API's level.
            b"deflate" => match self.level {
                None | Some(-1) | Some(6) => Ok(Params::default()),
                Some(level) => {
                    pr_info!("deflate: level {} is not supported, only 6\n", level);
                    Err(EOPNOTSUPP)
                }
            },
            _ => Ok(Params::default()),
        }
    }

    /// Whether these are the same parameters: the same level, and dictionaries of the same
    /// bytes.
    pub(crate) fn same(&self, other: &Params) -> bool {
        self.level == other.level && bytes(&self.dict) == bytes(&other.dict)
    }
}

/// How one algorithm compresses, shared by its streams.
pub(crate) enum Codec {
    /// Through the crypto API.
    Crypto,
    /// Through the library's LZ4 at `acceleration`, with `dict` if given.
    Lz4 {
        acceleration: i32,
        dict: Option<Dict>,
    },
    /// Through the library's LZ4HC at `level`, with `dict` if given.
    Lz4Hc { level: i32, dict: Option<Dict> },
    /// Through the library's zstd, at the setup's level and with its dictionary.
    Zstd(zstd::Setup),
}

/// The working state of one stream of a [`Codec`], of the variant of the same name.
pub(crate) enum Transform {
    /// A crypto API transform.
    Crypto(Compressor),
    /// LZ4's working memory.
    Lz4(lz4::Lz4),
    /// LZ4HC's working memory.
    Lz4Hc(lz4::Lz4Hc),
    /// zstd's contexts, made for the codec's setup.
    Zstd(zstd::Context),
}

impl Codec {
    /// How algorithm `name` compresses with `params`, as [`Params::for_algorithm`] returned
    /// them, for inputs of `src_size` bytes. May sleep.
    pub(crate) fn new(name: &CStr, params: &Params, src_size: usize) -> Result<Self> {
        let Params { level, dict } = params.clone();
        if level.is_none() && dict.is_none() {
            return Ok(Codec::Crypto);
        }
        Ok(match name.as_bytes() {
            b"lz4" => Codec::Lz4 {
                acceleration: level.unwrap_or(lz4::DEFAULT_ACCELERATION),
                dict,
            },
            b"lz4hc" => Codec::Lz4Hc {
                level: level.unwrap_or(lz4::DEFAULT_HC_LEVEL),
                dict,
            },
            b"zstd" => Codec::Zstd(zstd::Setup::new(
                level.unwrap_or_else(zstd::default_level),
                bytes(&dict),
                src_size,
            )?),
            _ => return Err(EINVAL),
        })
    }

    /// Makes a stream's working state for algorithm `name`. May sleep.
    pub(crate) fn transform(&self, name: &CStr) -> Result<Transform> {
        Ok(match self {
            Codec::Crypto => Transform::Crypto(Compressor::new(name)?),
            Codec::Lz4 { acceleration, .. } => Transform::Lz4(lz4::Lz4::new(*acceleration)?),
            Codec::Lz4Hc { level, .. } => Transform::Lz4Hc(lz4::Lz4Hc::new(*level)?),
            Codec::Zstd(setup) => Transform::Zstd(zstd::Context::new(setup)?),
        })
    }

    /// Compresses `src` into `dst` with `tfm`, a state [`Codec::transform`] made, and returns
    /// the compressed length. Fails if the result does not fit. May sleep.
    pub(crate) fn compress(
        &self,
        tfm: &mut Transform,
        src: &[u8],
        dst: &mut [u8],
    ) -> Result<usize> {
        match (self, tfm) {
            (Codec::Crypto, Transform::Crypto(tfm)) => tfm.compress(src, dst),
            (Codec::Lz4 { dict, .. }, Transform::Lz4(tfm)) => tfm.compress(bytes(dict), src, dst),
            (Codec::Lz4Hc { dict, .. }, Transform::Lz4Hc(tfm)) => {
                tfm.compress(bytes(dict), src, dst)
            }
            (Codec::Zstd(setup), Transform::Zstd(tfm)) => tfm.compress(setup, src, dst),
            _ => Err(EINVAL),
        }
    }

    /// Decompresses `src` into `dst` with `tfm` and returns the length that came out. Fails
    /// if `src` is not valid or does not fit. Neither sleeps nor allocates.
    pub(crate) fn decompress(
        &self,
        tfm: &mut Transform,
        src: &[u8],
        dst: &mut [u8],
    ) -> Result<usize> {
        match (self, tfm) {
            (Codec::Crypto, Transform::Crypto(tfm)) => tfm.decompress(src, dst),
            (Codec::Lz4 { dict, .. } | Codec::Lz4Hc { dict, .. }, _) => {
                lz4::decompress(bytes(dict), src, dst)
            }
            (Codec::Zstd(setup), Transform::Zstd(tfm)) => tfm.decompress(setup, src, dst),
            _ => Err(EINVAL),
        }
    }
}

/// The bytes of a dictionary, if there is one.
fn bytes(dict: &Option<Dict>) -> Option<&[u8]> {
    dict.as_deref().map(|d| &d[..])
}
