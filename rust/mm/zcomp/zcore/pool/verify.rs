// SPDX-License-Identifier: GPL-2.0

//! A walk of the whole pool that checks every invariant: for tests and debug builds.

use super::super::page_source::PageSource;
use super::class::Class;
use super::handle::Handle;
use super::lists::{NO_LIST, UNUSED};
use super::{Error, Pool};

impl<S: PageSource> Pool<S> {
    /// Checks every structural invariant of the pool, walking all of it, and returns the
    /// first that does not hold.
    pub fn verify(&self) -> Result<(), Error> {
        let live_handles = self.handles.check()?;
        let (mut bytes, mut huge) = (0, 0);
        for idx in self.handles.ids() {
            let Some(h) = Handle::from_raw(idx).filter(|_| self.handles.get(idx).is_some()) else {
                continue;
            };
            let (_, loc) = self.locate_checked(h)?;
            bytes += loc.len as u64;
            huge += loc.class().is_huge() as u64;
        }
        let (mut objects, mut spans, mut unlisted, mut data_pages) = (0, 0, 0, 0);
        for id in self.spans.ids() {
            let span = self
                .spans
                .descriptor(id)
                .ok_or(Error::Corrupt("span table"))?;
            if span.list == UNUSED {
                if span.nr_pages() != 0 {
                    return Err(Error::Corrupt("a free span descriptor holds pages"));
                }
                continue;
            }
            span.check()?;
            if span.live() == 0 {
                return Err(Error::Corrupt("an empty span is kept"));
            }
            if span.list == NO_LIST {
                if !span.is_full() {
                    return Err(Error::Corrupt("a span that is not full is on no list"));
                }
                unlisted += 1;
            }
            spans += 1;
            objects += span.live() as u64;
            data_pages += span.nr_pages() as u64;
        }
        let mut listed = 0;
        for class in Class::all() {
            listed += self.check_lists(class)?;
        }
        let s = self.stats();
        if objects != s.objects || live_handles != s.objects {
            return Err(Error::Corrupt("object count"));
        }
        if bytes != s.bytes_stored || huge != s.huge_objects {
            return Err(Error::Corrupt("byte or huge object count"));
        }
        if spans != s.spans || listed + unlisted != spans || data_pages != s.data_pages {
            return Err(Error::Corrupt("span or page count"));
        }
        Ok(())
    }
}
