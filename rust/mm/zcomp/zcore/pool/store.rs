// SPDX-License-Identifier: GPL-2.0

//! Storing an object: a handle, a slot in the fullest span of its class, the bytes.

use super::super::page_source::{PageSource, PAGE_SIZE};
use super::class::Class;
use super::handle::{Handle, Loc};
use super::{Error, Pool};

impl<S: PageSource> Pool<S> {
    /// Stores `data` (1 to [`PAGE_SIZE`] bytes) and returns its handle. Does not sleep.
    pub fn store(&mut self, data: &[u8]) -> Result<Handle, Error> {
        let len = data.len();
        if len == 0 {
            return Err(Error::Empty);
        }
        if len > PAGE_SIZE {
            return Err(Error::TooLarge);
        }
        let class = Class::of_len(len);
        let pages = self.pages.data_pages();
        self.prepare_lists(class)?;
        let idx = self.handles.alloc(&mut self.pages)?;
        let (span, slot) = match self.place(class, idx, data) {
            Ok(place) => place,
            Err(e) => {
                self.handles.free(idx)?;
                return Err(e);
            }
        };
        self.handles.set(idx, Loc { span, slot, len })?;
        self.grew |= self.pages.data_pages() > pages;
        self.stats.objects += 1;
        self.stats.bytes_stored += len as u64;
        if class.is_huge() {
            self.stats.huge_objects += 1;
        }
        Handle::from_raw(idx).ok_or(Error::Corrupt("handle 0 handed out"))
    }

    /// Writes the object of handle `idx` into a free slot of `class`, in the fullest listed
    /// span or else a new one, and returns the span and the slot.
    fn place(&mut self, class: Class, idx: u32, data: &[u8]) -> Result<(u32, usize), Error> {
        let (id, new) = match self.fullest(class, 0)? {
            Some(id) => (id, false),
            None => (self.spans.alloc(class, &mut self.pages)?, true),
        };
        let slot = match self.store_in(id, idx, data) {
            Ok(slot) => slot,
            Err(e) => {
                // A new span is still empty and on no list.
                if new {
                    self.spans.free(id)?;
                }
                return Err(e);
            }
        };
        self.regroup(id)?;
        Ok((id, slot))
    }

    /// Writes the object of handle `idx` into the lowest free slot of span `id`, and starts
    /// fetching the slot after it, which the class's next store will likely take.
    fn store_in(&mut self, id: u32, idx: u32, data: &[u8]) -> Result<usize, Error> {
        let span = self.spans.get_mut(id)?;
        let slot = span
            .first_free()
            .ok_or(Error::Corrupt("a listed span has no free slot"))?;
        span.populate(slot, &mut self.pages)?;
        span.store(slot, idx, data)?;
        if let Some(next) = span.first_free() {
            span.prefetch_slot(next, self.pages.source());
        }
        Ok(slot)
    }
}
