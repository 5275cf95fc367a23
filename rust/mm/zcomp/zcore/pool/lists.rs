// SPDX-License-Identifier: GPL-2.0

//! Fullness lists: each class's spans that are neither full nor empty, by how full they are.
//!
//! A class keeps [`NR_GROUPS`] doubly linked lists of spans, list `g` holding the spans
//! with `g` eighths (rounded down) of their slots live. A full span is on no list, and an
//! empty one is freed. A store goes to the fullest listed span, so that the slots freed in
//! a span fill before a new span takes pages; compaction moves objects from the emptiest
//! span to the fullest. Every change of a span's live count moves it to the list of its new
//! fullness, which happens once per `slots / NR_GROUPS` stores or frees into the span.

use super::super::page_source::PageSource;
use super::class::Class;
use super::span::Span;
use super::table::Table;
use super::{Error, Pool};

/// Number of fullness lists per class.
pub const NR_GROUPS: usize = 8;

/// [`Span::list`] of a span in use that is on no list: full, or being filled by the store
/// that made it.
pub(super) const NO_LIST: u8 = NR_GROUPS as u8;

/// [`Span::list`] of a descriptor not in use.
pub(super) const UNUSED: u8 = NR_GROUPS as u8 + 1;

/// The heads of one class's lists: span ids, 0 for an empty list.
type Heads = [u32; NR_GROUPS];

/// The list a span belongs on.
fn group_of(span: &Span) -> u8 {
    if span.is_full() {
        NO_LIST
    } else {
        (span.live() * NR_GROUPS / span.class().info().slots) as u8
    }
}

/// The list heads of every class.
pub(super) struct Lists {
    heads: Table<Heads>,
}

impl Lists {
    pub(super) const fn new() -> Self {
        Self {
            heads: Table::new(),
        }
    }

    /// The heads of `class`'s lists; all empty if the class has never been used.
    pub(super) fn heads(&self, class: Class) -> Heads {
        self.heads.get(class.index()).copied().unwrap_or_default()
    }

    fn head_mut(&mut self, class: Class, group: u8) -> Result<&mut u32, Error> {
        let heads = self.heads.get_mut(class.index());
        let head = heads.and_then(|h| h.get_mut(group as usize));
        head.ok_or(Error::Corrupt("no list heads for a class in use"))
    }

    /// Gives the heads' pages back.
    pub(super) fn release<S: PageSource>(&mut self, pages: &mut super::pages::Pages<S>) {
        self.heads.release(pages);
    }
}

impl<S: PageSource> Pool<S> {
    /// Makes sure `class` has its list heads, before anything goes on its lists.
    pub(super) fn prepare_lists(&mut self, class: Class) -> Result<(), Error> {
        self.lists.heads.populate(class.index(), &mut self.pages)?;
        Ok(())
    }

    /// The fullest listed span of `class` other than `except`.
    pub(super) fn fullest(&self, class: Class, except: u32) -> Result<Option<u32>, Error> {
        for &head in self.lists.heads(class).iter().rev() {
            let id = if head != 0 && head == except {
                self.spans.get(head)?.next
            } else {
                head
            };
            if id != 0 {
                return Ok(Some(id));
            }
        }
        Ok(None)
    }

    /// The first span on the emptiest non-empty list of `class`.
    pub(super) fn emptiest(&self, class: Class) -> Option<u32> {
        self.lists.heads(class).into_iter().find(|&h| h != 0)
    }

    /// Moves span `id` to the list its fullness puts it on.
    pub(super) fn regroup(&mut self, id: u32) -> Result<(), Error> {
        let span = self.spans.get(id)?;
        let group = group_of(span);
        if span.list != group {
            self.unlist(id)?;
            if group != NO_LIST {
                self.list(id, group)?;
            }
        }
        Ok(())
    }

    /// Puts span `id`, on no list, at the head of list `group`.
    fn list(&mut self, id: u32, group: u8) -> Result<(), Error> {
        let class = self.spans.get(id)?.class();
        let head = self.lists.head_mut(class, group)?;
        let next = core::mem::replace(head, id);
        if next != 0 {
            self.spans.get_mut(next)?.prev = id;
        }
        let span = self.spans.get_mut(id)?;
        span.list = group;
        span.prev = 0;
        span.next = next;
        Ok(())
    }

    /// Takes span `id` off its list, if it is on one.
    pub(super) fn unlist(&mut self, id: u32) -> Result<(), Error> {
        let span = self.spans.get_mut(id)?;
        let (class, group, prev, next) = (span.class(), span.list, span.prev, span.next);
        if group >= NO_LIST {
            return Ok(());
        }
        span.list = NO_LIST;
        span.prev = 0;
        span.next = 0;
        if prev != 0 {
            self.spans.get_mut(prev)?.next = next;
        } else {
            *self.lists.head_mut(class, group)? = next;
        }
        if next != 0 {
            self.spans.get_mut(next)?.prev = prev;
        }
        Ok(())
    }

    /// Checks the lists of `class`: each links spans of the class listed there, both ways,
    /// without a loop, each on the list its fullness puts it on. Returns how many there are.
    #[cfg(any(test, debug_assertions))]
    pub(super) fn check_lists(&self, class: Class) -> Result<u64, Error> {
        let mut listed = 0;
        for (group, &head) in self.lists.heads(class).iter().enumerate() {
            let (mut id, mut prev) = (head, 0);
            while id != 0 {
                let span = self.spans.get(id)?;
                if span.class() != class
                    || span.list as usize != group
                    || group_of(span) != span.list
                {
                    return Err(Error::Corrupt("span on the wrong list"));
                }
                if span.prev != prev {
                    return Err(Error::Corrupt("list back link"));
                }
                listed += 1;
                if listed > self.spans.in_use() {
                    return Err(Error::Corrupt("list loops"));
                }
                (prev, id) = (id, span.next);
            }
        }
        Ok(listed)
    }
}
