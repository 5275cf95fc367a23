// SPDX-License-Identifier: GPL-2.0

//! Reading an object through its handle.

use super::super::page_source::{PageSource, PAGE_SIZE};
use super::handle::{Handle, Loc};
use super::span::Span;
use super::{Error, Pool};

/// A live handle names a slot that is free or of another class.
pub(super) const STRAY_HANDLE: Error = Error::Corrupt("a handle names a slot that is not its");

/// A live slot's header holds another handle than the one naming the slot.
pub(super) const WRONG_HEADER: Error = Error::Corrupt("a slot holds another handle");

impl<S: PageSource> Pool<S> {
    /// The span and place of the live object of `h`, checked against the span's
    /// descriptor.
    pub(super) fn locate(&self, h: Handle) -> Result<(&Span, Loc), Error> {
        let loc = self.handles.get(h.to_raw()).ok_or(Error::BadHandle)?;
        let span = self.spans.get(loc.span)?;
        if span.class() != loc.class() || !span.is_live(loc.slot) {
            return Err(STRAY_HANDLE);
        }
        Ok((span, loc))
    }

    /// [`Pool::locate`], also checking that the object's slot holds `h`. That reads the
    /// object's first bytes, which costs nothing when the object is about to be read.
    pub(super) fn locate_checked(&self, h: Handle) -> Result<(&Span, Loc), Error> {
        let (span, loc) = self.locate(h)?;
        if span.handle_of(loc.slot)? != h.to_raw() {
            return Err(WRONG_HEADER);
        }
        Ok((span, loc))
    }

    /// Length of the object `h` refers to.
    pub fn object_len(&self, h: Handle) -> Result<usize, Error> {
        Ok(self.locate(h)?.1.len)
    }

    /// Copies the object `h` refers to into the start of `out` and returns its length.
    pub fn read(&self, h: Handle, out: &mut [u8]) -> Result<usize, Error> {
        let (span, loc) = self.locate_checked(h)?;
        let out = out.get_mut(..loc.len).ok_or(Error::BufferTooSmall)?;
        span.read(span.object_offset(loc.slot), out)?;
        Ok(loc.len)
    }

    /// The bytes of the object `h` refers to: borrowed from the pool if they lie in one
    /// page, otherwise copied into `scratch`.
    pub fn map<'a>(
        &'a self,
        h: Handle,
        scratch: &'a mut [u8; PAGE_SIZE],
    ) -> Result<&'a [u8], Error> {
        let (span, loc) = self.locate_checked(h)?;
        let off = span.object_offset(loc.slot);
        if let Some(bytes) = span.contiguous(off, loc.len) {
            return Ok(bytes);
        }
        let out = &mut scratch[..loc.len];
        span.read(off, out)?;
        Ok(out)
    }
}
