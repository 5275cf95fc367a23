// SPDX-License-Identifier: GPL-2.0

//! The LRU of the entries whose data is in the pool, shared by the frontends.
//!
//! Writeback takes the coldest entries of one list: a list per memory cgroup (list 0 for
//! pages no cgroup owns), so that a cgroup at its limit writes back its own pages, as
//! zswap's `list_lru` lets it. The entries themselves live in the frontends' indexes, each
//! region under a lock of its own, so the lists are not threaded through them: each entry on
//! the LRU has a [`Node`] here, and the entry keeps the node's id
//! ([`Entry::lru_node`](super::entry::Entry::lru_node)) while the node keeps the frontend's
//! key for the entry (the swap frontend's is the swap slot).
//!
//! Nodes are 16 bytes, in pages from a [`PageSource`]: a node id names its directory page,
//! its leaf page and its place in the leaf, and free nodes are chained through their `next`
//! field. Every list is circular through a sentinel node of its own, so unlinking a node
//! needs no list, and handing a cgroup's list to its parent when the cgroup goes offline
//! ([`Lru::splice`]) takes constant time.
//!
//! Writeback gives entries a second chance: a node is linked referenced, and the scan from
//! the cold end ([`Lru::isolate_coldest`]) moves a referenced node back to the warm end,
//! clearing the flag, rather than taking it. The node it does take is unlinked but stays
//! the entry's ("isolated") until the frontend removes the entry or puts it back.

use core::num::NonZeroU32;

use super::page_array::PageArray;
use super::page_source::PageSource;

/// A list: the memory cgroup's id, or 0 for pages no cgroup owns.
pub type ListId = u16;

/// Largest key a frontend can give a node (62 bits).
pub const MAX_KEY: u64 = (1 << 62) - 1;

/// Flag bits kept above the key.
const REFERENCED: u64 = 1 << 63;
const SENTINEL: u64 = 1 << 62;

/// Nodes per leaf page, leaf pages per directory page, directory pages.
const LEAF_SHIFT: u32 = 8;
const DIR_SHIFT: u32 = 9;
const NR_DIRS: usize = 512;

/// Node ids are below this: 2^26 nodes, the LRU of 256 GiB of stored pages.
pub const MAX_NODES: u32 = (NR_DIRS as u32) << (DIR_SHIFT + LEAF_SHIFT);

/// Sentinel ids per page of the list table, and pages in the table.
const HEADS_SHIFT: u32 = 10;
const NR_HEAD_PAGES: usize = 1 << (16 - HEADS_SHIFT);

/// The id of a node: nonzero, so that an entry's zero word means "no node".
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId(NonZeroU32);

impl NodeId {
    /// The id as an entry stores it.
    pub fn to_raw(self) -> u32 {
        self.0.get()
    }

    /// The id an entry stored, or `None` for zero.
    pub fn from_raw(raw: u32) -> Option<Self> {
        NonZeroU32::new(raw).map(Self)
    }
}

/// Why an LRU operation failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LruError {
    /// A page for the node or list tables could not be had, or every node id is taken.
    NoMemory,
    /// The key is above [`MAX_KEY`].
    BadKey,
    /// The id names no node in use (free, a sentinel, or never made).
    NoNode,
    /// The node is not isolated, so it cannot be put back.
    NotIsolated,
}

/// One node. Free: `prev` is 0 and `next` chains the free list. In use: `key` holds the
/// frontend's key and flags, `prev` and `next` the neighbours, or the node's own id twice
/// when it is isolated.
#[derive(Clone, Copy, Debug, Default)]
#[repr(C)]
struct Node {
    key: u64,
    prev: u32,
    next: u32,
}

type Leaf = PageArray<Node>;
type Dir = PageArray<Option<Leaf>>;

/// The LRU lists of one engine.
///
/// # Invariants
///
/// - Every page in `dirs` (and in the leaves they hold) and `heads` came from `src`.
/// - Node ids below `made` have a leaf page; node 0 is never used.
/// - `free` chains the free nodes below `made` through `next`; a free node has `prev == 0`.
/// - A node in use is either isolated (`prev == next ==` its id) or linked into exactly one
///   circular list, whose sentinel is named by that list's slot in `heads`.
/// - `len` counts the nodes in use that are not sentinels.
pub struct Lru<S: PageSource> {
    src: S,
    dirs: [Option<Dir>; NR_DIRS],
    heads: [Option<PageArray<u32>>; NR_HEAD_PAGES],
    made: u32,
    free: u32,
    len: usize,
    pages: usize,
    scratch: Node,
}

/// Directory, leaf and place in the leaf of node `id`, if it is below `made` and not 0.
fn split(id: u32, made: u32) -> Option<(usize, usize, usize)> {
    if id == 0 || id >= made {
        return None;
    }
    Some((
        (id >> (DIR_SHIFT + LEAF_SHIFT)) as usize,
        ((id >> LEAF_SHIFT) & ((1 << DIR_SHIFT) - 1)) as usize,
        (id & ((1 << LEAF_SHIFT) - 1)) as usize,
    ))
}

impl<S: PageSource> Lru<S> {
    /// Empty lists drawing their pages from `src`. Allocates nothing.
    pub fn new(src: S) -> Self {
        Self {
            src,
            dirs: core::array::from_fn(|_| None),
            heads: core::array::from_fn(|_| None),
            // Node 0 is never handed out.
            made: 1,
            free: 0,
            len: 0,
            pages: 0,
            scratch: Node::default(),
        }
    }

    /// Nodes in use for entries, linked or isolated.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no entry has a node.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Pages the node and list tables hold.
    pub fn pages(&self) -> usize {
        self.pages
    }

    fn node(&self, id: u32) -> Option<&Node> {
        let (d, l, n) = split(id, self.made)?;
        Some(&self.dirs[d].as_ref()?.entries()[l].as_ref()?.entries()[n])
    }

    /// Node `id`, which the caller knows to be made. Were it not (a bug in this file), the
    /// access goes to a scratch node rather than panicking.
    fn at(&mut self, id: u32) -> &mut Node {
        let node = split(id, self.made).and_then(|(d, l, n)| {
            let leaf = self.dirs[d].as_mut()?.entries_mut()[l].as_mut()?;
            Some(&mut leaf.entries_mut()[n])
        });
        node.unwrap_or(&mut self.scratch)
    }

    /// Takes a free node, making a leaf of them if there is none.
    fn alloc(&mut self) -> Result<u32, LruError> {
        if self.free == 0 {
            self.grow()?;
        }
        let id = self.free;
        let next = self.at(id).next;
        self.free = next;
        Ok(id)
    }

    /// Adds a leaf page of free nodes (and a directory page if the leaf starts one).
    fn grow(&mut self) -> Result<(), LruError> {
        let first = self.made;
        if first >= MAX_NODES {
            return Err(LruError::NoMemory);
        }
        let (d, l, _) = split(first, MAX_NODES).ok_or(LruError::NoMemory)?;
        if self.dirs[d].is_none() {
            let page = self.src.alloc_page().ok_or(LruError::NoMemory)?;
            self.dirs[d] = Some(Dir::new(page));
            self.pages += 1;
        }
        let page = self.src.alloc_page().ok_or(LruError::NoMemory)?;
        if let Some(dir) = self.dirs[d].as_mut() {
            dir.entries_mut()[l] = Some(Leaf::new(page));
        }
        self.pages += 1;
        // INVARIANT: the leaf's nodes are made, and chained onto the free list.
        let end = (first | ((1 << LEAF_SHIFT) - 1)) + 1;
        self.made = end;
        for id in (first..end).rev() {
            let free = self.free;
            *self.at(id) = Node {
                key: 0,
                prev: 0,
                next: free,
            };
            self.free = id;
        }
        Ok(())
    }

    /// The sentinel of `list`, if the list was ever used.
    fn sentinel(&self, list: ListId) -> Option<u32> {
        let page = self.heads[(list >> HEADS_SHIFT) as usize].as_ref()?;
        let id = page.entries()[(list & ((1 << HEADS_SHIFT) - 1)) as usize];
        (id != 0).then_some(id)
    }

    /// The sentinel of `list`, made if the list is new.
    fn sentinel_or_make(&mut self, list: ListId) -> Result<u32, LruError> {
        if let Some(id) = self.sentinel(list) {
            return Ok(id);
        }
        let p = (list >> HEADS_SHIFT) as usize;
        if self.heads[p].is_none() {
            let page = self.src.alloc_page().ok_or(LruError::NoMemory)?;
            self.heads[p] = Some(PageArray::new(page));
            self.pages += 1;
        }
        let id = self.alloc()?;
        // INVARIANT: a new sentinel is an empty circular list of its own.
        *self.at(id) = Node {
            key: SENTINEL,
            prev: id,
            next: id,
        };
        if let Some(page) = self.heads[p].as_mut() {
            page.entries_mut()[(list & ((1 << HEADS_SHIFT) - 1)) as usize] = id;
        }
        Ok(id)
    }

    /// Links node `id` (isolated) right after sentinel `head`: the warm end.
    fn link_front(&mut self, head: u32, id: u32) {
        let first = self.at(head).next;
        self.at(id).prev = head;
        self.at(id).next = first;
        self.at(first).prev = id;
        self.at(head).next = id;
    }

    /// Unlinks node `id`, leaving it isolated.
    fn unlink(&mut self, id: u32) {
        let Node { prev, next, .. } = *self.at(id);
        self.at(prev).next = next;
        self.at(next).prev = prev;
        self.at(id).prev = id;
        self.at(id).next = id;
    }

    /// A node in use for an entry: not free, not a sentinel.
    fn entry_node(&self, id: NodeId) -> Result<&Node, LruError> {
        match self.node(id.to_raw()) {
            Some(n) if n.prev != 0 && n.key & SENTINEL == 0 => Ok(n),
            _ => Err(LruError::NoNode),
        }
    }

    /// Links a new node for `key` at the warm end of `list`, referenced.
    pub fn insert(&mut self, list: ListId, key: u64) -> Result<NodeId, LruError> {
        if key > MAX_KEY {
            return Err(LruError::BadKey);
        }
        let head = self.sentinel_or_make(list)?;
        let id = self.alloc()?;
        *self.at(id) = Node {
            key: key | REFERENCED,
            prev: id,
            next: id,
        };
        self.link_front(head, id);
        self.len += 1;
        NodeId::from_raw(id).ok_or(LruError::NoNode)
    }

    /// Unlinks node `id` if it is linked, frees it, and returns its key.
    pub fn remove(&mut self, id: NodeId) -> Result<u64, LruError> {
        let key = self.entry_node(id)?.key & MAX_KEY;
        let raw = id.to_raw();
        self.unlink(raw);
        let free = self.free;
        // INVARIANT: the node joins the free list.
        *self.at(raw) = Node {
            key: 0,
            prev: 0,
            next: free,
        };
        self.free = raw;
        self.len -= 1;
        if self.len == 0 {
            // Nothing is left but sentinels and free nodes: an idle LRU holds no memory.
            self.clear();
        }
        Ok(key)
    }

    /// The writeback scan of `list`: looks at up to `max_scan` nodes from the cold end,
    /// moving a referenced node to the warm end with its flag cleared, and isolates and
    /// returns the first unreferenced one with its key.
    pub fn isolate_coldest(&mut self, list: ListId, max_scan: usize) -> Option<(NodeId, u64)> {
        let head = self.sentinel(list)?;
        for _ in 0..max_scan {
            let id = self.at(head).prev;
            if id == head {
                return None;
            }
            self.unlink(id);
            let node = self.at(id);
            if node.key & REFERENCED == 0 {
                let key = node.key & MAX_KEY;
                return NodeId::from_raw(id).map(|id| (id, key));
            }
            node.key &= !REFERENCED;
            self.link_front(head, id);
        }
        None
    }

    /// Links isolated node `id` back at the warm end of `list`: its writeback did not
    /// happen.
    pub fn putback(&mut self, list: ListId, id: NodeId) -> Result<(), LruError> {
        let node = self.entry_node(id)?;
        if node.prev != id.to_raw() {
            return Err(LruError::NotIsolated);
        }
        let head = self.sentinel_or_make(list)?;
        self.link_front(head, id.to_raw());
        Ok(())
    }

    /// Moves every node of `from` to the cold end of `to`: a cgroup went offline and its
    /// parent inherits its pages, older than its own.
    pub fn splice(&mut self, from: ListId, to: ListId) -> Result<(), LruError> {
        let Some(src) = self.sentinel(from) else {
            return Ok(());
        };
        if from == to || self.at(src).next == src {
            return Ok(());
        }
        let dst = self.sentinel_or_make(to)?;
        let (first, last) = (self.at(src).next, self.at(src).prev);
        let old_last = self.at(dst).prev;
        self.at(old_last).next = first;
        self.at(first).prev = old_last;
        self.at(last).next = dst;
        self.at(dst).prev = last;
        self.at(src).prev = src;
        self.at(src).next = src;
        Ok(())
    }

    /// Whether `list` has no linked node.
    pub fn is_list_empty(&self, list: ListId) -> bool {
        self.sentinel(list)
            .and_then(|head| self.node(head).map(|n| n.next == head))
            .unwrap_or(true)
    }

    /// The first list after `after`, in id order and wrapping around, that has a linked
    /// node: the round robin of writeback for the pool limit. Skips the list table's absent
    /// pages a page at a time.
    pub fn next_busy_list(&self, after: ListId) -> Option<ListId> {
        let mut list = after as u32;
        for _ in 0..=u16::MAX as u32 {
            list = (list + 1) & u16::MAX as u32;
            if self.heads[(list >> HEADS_SHIFT) as usize].is_none() {
                list |= (1 << HEADS_SHIFT) - 1;
            } else if !self.is_list_empty(list as ListId) {
                return Some(list as ListId);
            }
        }
        None
    }

    /// Gives every page back, leaving no list and no node.
    fn clear(&mut self) {
        for dir in self.dirs.iter_mut() {
            if let Some(mut dir) = dir.take() {
                for leaf in dir.entries_mut().iter_mut() {
                    if let Some(leaf) = leaf.take() {
                        // SAFETY: by the type invariant the page came from `src`.
                        unsafe { self.src.free_page(leaf.into_page()) };
                    }
                }
                // SAFETY: as above.
                unsafe { self.src.free_page(dir.into_page()) };
            }
        }
        for page in self.heads.iter_mut() {
            if let Some(page) = page.take() {
                // SAFETY: as above.
                unsafe { self.src.free_page(page.into_page()) };
            }
        }
        // INVARIANT: no node is made, and no list has a sentinel.
        self.made = 1;
        self.free = 0;
        self.len = 0;
        self.pages = 0;
    }

    /// The keys of `list` from the warm end to the cold end, for tests.
    #[cfg(test)]
    pub fn keys(&self, list: ListId) -> alloc::vec::Vec<u64> {
        let mut out = alloc::vec::Vec::new();
        if let Some(head) = self.sentinel(list) {
            let mut id = self.node(head).map_or(head, |n| n.next);
            while id != head {
                let Some(n) = self.node(id) else { break };
                out.push(n.key & MAX_KEY);
                id = n.next;
            }
        }
        out
    }
}

impl<S: PageSource> Drop for Lru<S> {
    /// Gives every page back. Entries still holding node ids must not be used with another
    /// `Lru`.
    fn drop(&mut self) {
        self.clear();
    }
}
