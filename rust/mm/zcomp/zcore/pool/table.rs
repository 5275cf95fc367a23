// SPDX-License-Identifier: GPL-2.0

//! The page-backed table behind each of the pool's metadata arrays (span descriptors,
//! handle slots, class lists).
//!
//! A [`Table`] is a two-level radix tree: [`TABLE_ROOT`] pointers in the table itself, each
//! to a page of pointers to leaf pages of entries. Pages are taken from the page source the
//! first time an entry in them is used and kept until the table is released, so a table
//! costs pages in proportion to the highest index it was asked for, not to its reach.

use super::super::page_array::PageArray;
use super::super::page_source::PageSource;
use super::pages::Pages;
use super::Error;

/// Number of root pointers kept in a [`Table`] itself.
const TABLE_ROOT: usize = 64;

/// A lazily populated array of `T`, indexed from 0, whose entries start as `T::default()`.
pub(super) struct Table<T> {
    root: [Option<PageArray<Option<PageArray<T>>>>; TABLE_ROOT],
}

impl<T> Table<T> {
    /// An empty root pointer.
    const NO_PAGE: Option<PageArray<Option<PageArray<T>>>> = None;

    /// A table with no pages.
    pub(super) const fn new() -> Self {
        Self {
            root: [Self::NO_PAGE; TABLE_ROOT],
        }
    }
}

impl<T: Default> Table<T> {
    /// Entries in one leaf page.
    pub(super) const PER_PAGE: usize = PageArray::<T>::LEN;

    /// Leaf pointers in one pointer page.
    const LEAVES: usize = PageArray::<Option<PageArray<T>>>::LEN;

    /// Number of entries the table can reach.
    pub(super) const REACH: usize = TABLE_ROOT * Self::LEAVES * Self::PER_PAGE;

    /// Root slot, pointer-page slot and leaf slot of entry `idx`.
    fn split(idx: usize) -> (usize, usize, usize) {
        let leaf = idx / Self::PER_PAGE;
        (
            leaf / Self::LEAVES,
            leaf % Self::LEAVES,
            idx % Self::PER_PAGE,
        )
    }

    /// Entry `idx`, if its page exists.
    pub(super) fn get(&self, idx: usize) -> Option<&T> {
        let (r, m, e) = Self::split(idx);
        let mid = self.root.get(r)?.as_ref()?;
        mid.entries().get(m)?.as_ref()?.entries().get(e)
    }

    /// Entry `idx`, mutably, if its page exists.
    pub(super) fn get_mut(&mut self, idx: usize) -> Option<&mut T> {
        let (r, m, e) = Self::split(idx);
        let mid = self.root.get_mut(r)?.as_mut()?;
        mid.entries_mut()
            .get_mut(m)?
            .as_mut()?
            .entries_mut()
            .get_mut(e)
    }

    /// Entry `idx`, mutably, taking the pages it lives in from `pages` if they do not exist
    /// yet. Fails with [`Error::Full`] beyond the table's reach and [`Error::NoMemory`] when
    /// a page cannot be had.
    pub(super) fn populate<S: PageSource>(
        &mut self,
        idx: usize,
        pages: &mut Pages<S>,
    ) -> Result<&mut T, Error> {
        let (r, m, e) = Self::split(idx);
        let mid = self.root.get_mut(r).ok_or(Error::Full)?;
        if mid.is_none() {
            *mid = Some(PageArray::new(pages.alloc_meta()?));
        }
        let leaf = mid
            .as_mut()
            .and_then(|mid| mid.entries_mut().get_mut(m))
            .ok_or(Error::Full)?;
        if leaf.is_none() {
            *leaf = Some(PageArray::new(pages.alloc_meta()?));
        }
        leaf.as_mut()
            .and_then(|leaf| leaf.entries_mut().get_mut(e))
            .ok_or(Error::Full)
    }

    /// Gives every page of the table back to `pages`. The entries are forgotten: whatever
    /// they own must have been taken out first.
    pub(super) fn release<S: PageSource>(&mut self, pages: &mut Pages<S>) {
        for mid in self.root.iter_mut().filter_map(Option::take) {
            let mut mid = mid;
            for leaf in mid.entries_mut().iter_mut().filter_map(Option::take) {
                pages.free_meta(leaf.into_page());
            }
            pages.free_meta(mid.into_page());
        }
    }
}
