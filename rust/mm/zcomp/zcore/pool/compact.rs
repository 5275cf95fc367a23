// SPDX-License-Identifier: GPL-2.0

//! Compaction: moving objects out of a class's sparsest spans so that those spans empty
//! and their pages go back.
//!
//! In each class, compaction takes the first span of the emptiest non-empty fullness list
//! as source and the fullest other listed span as destination, and moves objects from the
//! source's highest live slot to the destination's lowest free slot until the source is
//! empty and freed. When a class has a single listed span left, its objects move down to its
//! lowest free slots, so that its upper pages empty. When compaction is done, each class has
//! at most one span that is neither full nor packed at its start, so what a class wastes
//! is under one span's tail plus one page.
//!
//! Frees leave holes that stores of the same class fill again, but when the sizes of what
//! is stored shift, as when a block device's blocks are overwritten with other data, the
//! holes of the classes that lose objects stay while the other classes take pages.
//! [`Pool::settle`], which a caller runs after a store that took a page, keeps that waste
//! bounded: it compacts a few objects at a time while the pool wastes more than a sixteenth
//! of what it stores beyond what it wasted when compaction last finished, so that the waste
//! compaction cannot remove (class rounding, span tails) never makes it move objects in
//! vain. Frees alone never start it: objects that are all going, as when swap is turned
//! off, are not worth moving, and the holes of a class its next stores fill are not waste.

use super::super::page_source::PageSource;
use super::class::{Class, NR_CLASSES};
use super::handle::Loc;
use super::read::WRONG_HEADER;
use super::{CompactStats, Error, Pool};

/// Bytes copied at a time when an object moves.
const MOVE_CHUNK: usize = 256;

/// [`Pool::settle`] compacts once the waste exceeds the settled waste by the bytes stored
/// shifted right by this much: a sixteenth of them.
const SETTLE_SLACK_SHIFT: u32 = 4;

impl<S: PageSource> Pool<S> {
    /// Moves at most `max_moves` objects to empty the sparsest spans of each class into the
    /// fullest, giving freed pages back to the source.
    ///
    /// Bounded work: at most `max_moves` moves, each a copy of at most a page, and one visit
    /// of each class. Resumes where the previous call stopped; call it again, dropping the
    /// lock in between, until [`CompactStats::done`] is true. A page that cannot be had for
    /// a destination ends the call early, not done.
    pub fn compact(&mut self, max_moves: u32) -> Result<CompactStats, Error> {
        let mut done = CompactStats::default();
        let first = self.compact_class;
        for i in 0..NR_CLASSES {
            let Some(class) = Class::new((first + i) % NR_CLASSES) else {
                break;
            };
            self.compact_class = class.index();
            loop {
                if done.moved >= max_moves {
                    self.stats.pages_compacted += done.pages_freed as u64;
                    return Ok(done);
                }
                match self.compact_step(class) {
                    Ok(Some(freed)) => {
                        done.moved += 1;
                        done.pages_freed += freed;
                    }
                    Ok(None) => break,
                    Err(Error::NoMemory) => {
                        self.stats.pages_compacted += done.pages_freed as u64;
                        return Ok(done);
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        self.compact_class = first;
        self.stats.pages_compacted += done.pages_freed as u64;
        self.settled_waste = self.waste();
        done.done = true;
        Ok(done)
    }

    /// Compacts by at most `max_moves` moves if a store has taken pages since the last call
    /// and the pool wastes more than a sixteenth of the bytes it stores beyond what it wasted
    /// when compaction last finished; returns what it did, or `None` if it had no reason to
    /// move anything. Meant for after each store. Bounded as [`Pool::compact`].
    pub fn settle(&mut self, max_moves: u32) -> Result<Option<CompactStats>, Error> {
        if !core::mem::take(&mut self.grew) {
            return Ok(None);
        }
        let waste = self.waste();
        self.settled_waste = self.settled_waste.min(waste);
        if waste <= self.settled_waste + (self.stats.bytes_stored >> SETTLE_SLACK_SHIFT) {
            return Ok(None);
        }
        self.compact(max_moves).map(Some)
    }

    /// Makes one move in `class`, if one is worth making, and returns the pages it freed.
    fn compact_step(&mut self, class: Class) -> Result<Option<u32>, Error> {
        let Some(src) = self.emptiest(class) else {
            return Ok(None);
        };
        let dst = match self.fullest(class, src)? {
            Some(dst) => dst,
            None if class.is_huge() => return Ok(None),
            None => src,
        };
        let from = self.spans.get(src)?.last_live();
        let to = self.spans.get(dst)?.first_free();
        let (Some(from), Some(to)) = (from, to) else {
            return Err(Error::Corrupt("a listed span is empty or full"));
        };
        if dst == src && to > from {
            return Ok(None);
        }
        self.move_object(src, from, dst, to).map(Some)
    }

    /// Moves the object in slot `from` of span `sid` to free slot `to` of span `did`, and
    /// returns the pages freed.
    fn move_object(&mut self, sid: u32, from: usize, did: u32, to: usize) -> Result<u32, Error> {
        let idx = self.spans.get(sid)?.handle_of(from)?;
        let loc = self
            .handles
            .get(idx)
            .filter(|l| l.span == sid && l.slot == from)
            .ok_or(WRONG_HEADER)?;
        self.spans.get_mut(did)?.populate(to, &mut self.pages)?;
        self.copy_object(loc, did, to)?;
        let dst = self.spans.get_mut(did)?;
        dst.set_handle(to, idx)?;
        dst.mark_live(to)?;
        self.handles.set(
            idx,
            Loc {
                span: did,
                slot: to,
                ..loc
            },
        )?;
        let freed = self.spans.get_mut(sid)?.free_slot(from, &mut self.pages)?;
        if did != sid {
            self.regroup(did)?;
        }
        self.span_shrunk(sid)?;
        self.stats.objects_moved += 1;
        Ok(freed)
    }

    /// Copies the bytes of the object at `loc` into free slot `to` of span `did`, whose pages
    /// are present.
    fn copy_object(&mut self, loc: Loc, did: u32, to: usize) -> Result<(), Error> {
        let mut chunk = [0u8; MOVE_CHUNK];
        let mut done = 0;
        while done < loc.len {
            let n = (loc.len - done).min(MOVE_CHUNK);
            let src = self.spans.get(loc.span)?;
            src.read(src.object_offset(loc.slot) + done, &mut chunk[..n])?;
            let dst = self.spans.get_mut(did)?;
            dst.write(dst.object_offset(to) + done, &chunk[..n])?;
            done += n;
        }
        Ok(())
    }
}
