// SPDX-License-Identifier: GPL-2.0

//! Freeing an object: its handle, its slot, the pages no other object overlaps, and the
//! span once it is empty.

use super::super::page_source::PageSource;
use super::handle::Handle;
use super::{Error, Pool};

impl<S: PageSource> Pool<S> {
    /// Frees the object `h` refers to, giving back at once every page no other object
    /// overlaps. Fails with [`Error::BadHandle`], changing nothing, if `h` is not live.
    pub fn free(&mut self, h: Handle) -> Result<(), Error> {
        // Checking the slot's header too would read the object's memory, a cache miss that
        // nothing else in a free needs; debug builds check it.
        #[cfg(debug_assertions)]
        let (_, loc) = self.locate_checked(h)?;
        #[cfg(not(debug_assertions))]
        let (_, loc) = self.locate(h)?;
        self.handles.free(h.to_raw())?;
        let freed = self
            .spans
            .get_mut(loc.span)?
            .free_slot(loc.slot, &mut self.pages)?;
        self.stats.objects -= 1;
        self.stats.bytes_stored -= loc.len as u64;
        if loc.class().is_huge() {
            self.stats.huge_objects -= 1;
        }
        self.stats.pages_freed_on_free += freed as u64;
        self.span_shrunk(loc.span)
    }

    /// Does what span `id` needs after losing an object: frees it if it is empty, or
    /// moves it to the list of its new fullness.
    pub(super) fn span_shrunk(&mut self, id: u32) -> Result<(), Error> {
        if self.spans.get(id)?.live() == 0 {
            self.unlist(id)?;
            self.spans.free(id)
        } else {
            self.regroup(id)
        }
    }
}
