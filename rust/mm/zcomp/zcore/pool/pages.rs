// SPDX-License-Identifier: GPL-2.0

//! The pool's page source, and the count of the pages the pool holds from it.

use super::super::page_source::{OwnedPage, PageSource};
use super::Error;

/// The page source of one pool, counting the pages taken from it and not given back.
///
/// Only the pool that owns a `Pages` calls it, and that pool keeps the pages it hands out in
/// its own spans and tables, takes pages from nowhere else and gives none away: so every
/// page given back to a `Pages` came from it.
///
/// # Invariants
///
/// `data` and `meta` count the pages handed out by [`Pages::alloc_data`] and
/// [`Pages::alloc_meta`] and not yet given back.
pub(super) struct Pages<S> {
    src: S,
    data: u64,
    meta: u64,
}

impl<S: PageSource> Pages<S> {
    pub(super) const fn new(src: S) -> Self {
        Self {
            src,
            data: 0,
            meta: 0,
        }
    }

    pub(super) fn source(&self) -> &S {
        &self.src
    }

    pub(super) fn source_mut(&mut self) -> &mut S {
        &mut self.src
    }

    /// Pages held for object data.
    pub(super) fn data_pages(&self) -> u64 {
        self.data
    }

    /// Pages held for metadata.
    pub(super) fn meta_pages(&self) -> u64 {
        self.meta
    }

    fn alloc(&mut self) -> Result<OwnedPage, Error> {
        self.src.alloc_page().ok_or(Error::NoMemory)
    }

    fn free(&mut self, page: OwnedPage) {
        // SAFETY: every page given back to a `Pages` came from its source (see the type's
        // documentation).
        unsafe { self.src.free_page(page) };
    }

    /// A page for object data.
    pub(super) fn alloc_data(&mut self) -> Result<OwnedPage, Error> {
        let page = self.alloc()?;
        self.data += 1;
        Ok(page)
    }

    /// Gives back a page that [`Pages::alloc_data`] handed out.
    pub(super) fn free_data(&mut self, page: OwnedPage) {
        self.free(page);
        self.data -= 1;
    }

    /// A page for metadata.
    pub(super) fn alloc_meta(&mut self) -> Result<OwnedPage, Error> {
        let page = self.alloc()?;
        self.meta += 1;
        Ok(page)
    }

    /// Gives back a page that [`Pages::alloc_meta`] handed out.
    pub(super) fn free_meta(&mut self, page: OwnedPage) {
        self.free(page);
        self.meta -= 1;
    }
}
