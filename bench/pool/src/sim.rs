// SPDX-License-Identifier: GPL-2.0

//! Simulations of zsmalloc's and zbud's packing, counting pages only.

use crate::Density;
use zcomp_core::page_source::PAGE_SIZE;

/// A set of equal containers (zspages) of `cap` objects each; allocation goes to the
/// fullest container that has room, as zsmalloc's `find_get_zspage` prefers the highest
/// fullness group.
struct Packer {
    cap: u32,
    inuse: Vec<u32>,
    /// Position of each container in `buckets[inuse]`.
    pos: Vec<usize>,
    /// Containers by objects in use (`0..cap`; full ones are not tracked).
    buckets: Vec<Vec<u32>>,
    free_ids: Vec<u32>,
    units: usize,
    objects: usize,
}

impl Packer {
    fn new(cap: u32) -> Self {
        Self {
            cap,
            inuse: Vec::new(),
            pos: Vec::new(),
            buckets: (0..cap).map(|_| Vec::new()).collect(),
            free_ids: Vec::new(),
            units: 0,
            objects: 0,
        }
    }

    fn unlink(&mut self, id: u32) {
        let u = self.inuse[id as usize];
        if u < self.cap {
            let b = &mut self.buckets[u as usize];
            let p = self.pos[id as usize];
            b.swap_remove(p);
            if let Some(&moved) = b.get(p) {
                self.pos[moved as usize] = p;
            }
        }
    }

    fn link(&mut self, id: u32) {
        let u = self.inuse[id as usize];
        if u < self.cap {
            let b = &mut self.buckets[u as usize];
            self.pos[id as usize] = b.len();
            b.push(id);
        }
    }

    fn alloc(&mut self) -> u32 {
        self.objects += 1;
        let id = match (1..self.cap)
            .rev()
            .find_map(|u| self.buckets[u as usize].last().copied())
        {
            Some(id) => id,
            None => {
                self.units += 1;
                match self.free_ids.pop() {
                    Some(id) => id,
                    None => {
                        self.inuse.push(0);
                        self.pos.push(0);
                        (self.inuse.len() - 1) as u32
                    }
                }
            }
        };
        if self.inuse[id as usize] > 0 {
            self.unlink(id);
        }
        self.inuse[id as usize] += 1;
        self.link(id);
        id
    }

    fn free(&mut self, id: u32) {
        self.objects -= 1;
        self.unlink(id);
        self.inuse[id as usize] -= 1;
        if self.inuse[id as usize] == 0 {
            self.units -= 1;
            self.free_ids.push(id);
        } else {
            self.link(id);
        }
    }
}

/// zsmalloc's size classes (Linux 6.12 mm/zsmalloc.c): 16-byte spacing from 32 bytes, an
/// 8-byte handle stored in front of each object (`ZS_HANDLE_SIZE`), zspages of up to
/// `chain` pages sized by `get_pages_per_zspage`, classes with the same shape merged.
pub(crate) struct Zsmalloc {
    classes: Vec<(usize, usize, u32, Packer)>,
    /// Class index for each 16-byte size step.
    index: Vec<usize>,
}

const ZS_MIN: usize = 32;
const ZS_DELTA: usize = 16;
const ZS_HANDLE: usize = 8;
/// `struct zspage` (allocated from its own kmem_cache), per zspage.
const ZSPAGE_STRUCT: u64 = 48;

fn get_pages_per_zspage(size: usize, chain: usize) -> usize {
    let mut best = 0;
    let mut order = 1;
    for i in 1..=chain {
        let zspage = i * PAGE_SIZE;
        let waste = zspage % size;
        let used = (zspage - waste) * 100 / zspage;
        if used > best {
            best = used;
            order = i;
        }
    }
    order
}

impl Zsmalloc {
    pub(crate) fn new(chain: usize) -> Self {
        let nr = (PAGE_SIZE - ZS_MIN).div_ceil(ZS_DELTA) + 1;
        let mut classes: Vec<(usize, usize, u32, Packer)> = Vec::new();
        let mut index = vec![0; nr];
        // Largest first, as zs_create_pool does, merging equal shapes into the larger.
        for i in (0..nr).rev() {
            let size = (ZS_MIN + i * ZS_DELTA).min(PAGE_SIZE);
            let pages = get_pages_per_zspage(size, chain);
            let objs = (pages * PAGE_SIZE / size) as u32;
            if let Some(last) = classes.last() {
                if last.1 == pages && last.2 == objs {
                    index[i] = classes.len() - 1;
                    continue;
                }
            }
            classes.push((size, pages, objs, Packer::new(objs)));
            index[i] = classes.len() - 1;
        }
        Self { classes, index }
    }

    fn class(&self, len: usize) -> usize {
        let size = len + ZS_HANDLE;
        let i = if size <= ZS_MIN {
            0
        } else {
            (size - ZS_MIN).div_ceil(ZS_DELTA)
        };
        self.index[i.min(self.index.len() - 1)]
    }

    pub(crate) fn alloc(&mut self, len: usize) -> (usize, u32) {
        let c = self.class(len);
        (c, self.classes[c].3.alloc())
    }

    pub(crate) fn free(&mut self, (c, id): (usize, u32)) {
        self.classes[c].3.free(id);
    }

    fn figures(&self, zspages: impl Fn(&(usize, usize, u32, Packer)) -> usize) -> Density {
        let mut pool_pages = 0u64;
        let mut meta = 0u64;
        let mut outside = 0u64;
        for cl in &self.classes {
            let z = zspages(cl) as u64;
            pool_pages += z * cl.1 as u64;
            let huge = cl.1 == 1 && cl.2 == 1;
            let objects = cl.3.objects as u64;
            // Out-of-band: 8-byte handle and the zspage struct; in-object: 8-byte handle
            // copy (except in huge classes, which keep it in the page descriptor).
            meta += objects * ZS_HANDLE as u64 + z * ZSPAGE_STRUCT;
            outside += objects * ZS_HANDLE as u64 + z * ZSPAGE_STRUCT;
            if !huge {
                meta += objects * ZS_HANDLE as u64;
            }
        }
        Density {
            pool_bytes: pool_pages * PAGE_SIZE as u64,
            meta_bytes: meta,
            meta_outside: outside,
        }
    }

    /// Pages as the trace left them.
    pub(crate) fn density(&self) -> Density {
        self.figures(|cl| cl.3.units)
    }

    /// Pages after a perfect compaction: each class packed into the fewest zspages.
    pub(crate) fn compacted_density(&self) -> Density {
        self.figures(|cl| cl.3.objects.div_ceil(cl.2 as usize))
    }
}

/// zbud (Linux 6.12 mm/zbud.c): at most two objects per page, in 64-byte chunks, after a
/// one-chunk header; no compaction. Objects zbud rejects (over `PAGE_SIZE - 128` bytes)
/// are counted as taking a page each, as the raw page that would be stored instead.
pub(crate) struct Zbud {
    /// (first chunks, last chunks) per page.
    pages: Vec<(u32, u32)>,
    pos: Vec<usize>,
    /// `unbuddied[i]`: pages with exactly one buddy in use and `i` free chunks.
    unbuddied: Vec<Vec<u32>>,
    free_ids: Vec<u32>,
    live_pages: u64,
    big_pages: u64,
    objects: u64,
}

const CHUNK: usize = 64;
const NCHUNKS: u32 = ((PAGE_SIZE - CHUNK) / CHUNK) as u32;

impl Zbud {
    pub(crate) fn new() -> Self {
        Self {
            pages: Vec::new(),
            pos: Vec::new(),
            unbuddied: (0..=NCHUNKS).map(|_| Vec::new()).collect(),
            free_ids: Vec::new(),
            live_pages: 0,
            big_pages: 0,
            objects: 0,
        }
    }

    fn free_chunks(&self, id: u32) -> u32 {
        let (f, l) = self.pages[id as usize];
        NCHUNKS - f - l
    }

    fn unlink(&mut self, id: u32) {
        let (f, l) = self.pages[id as usize];
        if (f == 0) != (l == 0) {
            let fc = self.free_chunks(id) as usize;
            let b = &mut self.unbuddied[fc];
            let p = self.pos[id as usize];
            b.swap_remove(p);
            if let Some(&moved) = b.get(p) {
                self.pos[moved as usize] = p;
            }
        }
    }

    fn link(&mut self, id: u32) {
        let (f, l) = self.pages[id as usize];
        if (f == 0) != (l == 0) {
            let fc = self.free_chunks(id) as usize;
            self.pos[id as usize] = self.unbuddied[fc].len();
            self.unbuddied[fc].push(id);
        }
    }

    /// Returns (page, bud): bud 0 first, 1 last, 2 a rejected object's own page.
    pub(crate) fn alloc(&mut self, len: usize) -> (u32, u8) {
        self.objects += 1;
        if len > PAGE_SIZE - 2 * CHUNK {
            self.big_pages += 1;
            return (0, 2);
        }
        let chunks = len.div_ceil(CHUNK) as u32;
        let found = (chunks..=NCHUNKS).find_map(|i| self.unbuddied[i as usize].last().copied());
        let id = match found {
            Some(id) => {
                self.unlink(id);
                id
            }
            None => {
                self.live_pages += 1;
                match self.free_ids.pop() {
                    Some(id) => id,
                    None => {
                        self.pages.push((0, 0));
                        self.pos.push(0);
                        (self.pages.len() - 1) as u32
                    }
                }
            }
        };
        let p = &mut self.pages[id as usize];
        let bud = if p.0 == 0 {
            p.0 = chunks;
            0
        } else {
            p.1 = chunks;
            1
        };
        self.link(id);
        (id, bud)
    }

    pub(crate) fn free(&mut self, (id, bud): (u32, u8)) {
        self.objects -= 1;
        if bud == 2 {
            self.big_pages -= 1;
            return;
        }
        self.unlink(id);
        let p = &mut self.pages[id as usize];
        if bud == 0 {
            p.0 = 0;
        } else {
            p.1 = 0;
        }
        if *p == (0, 0) {
            self.live_pages -= 1;
            self.free_ids.push(id);
        } else {
            self.link(id);
        }
    }

    pub(crate) fn density(&self) -> Density {
        Density {
            pool_bytes: (self.live_pages + self.big_pages) * PAGE_SIZE as u64,
            // The in-page header, shared by the two buddies.
            meta_bytes: self.live_pages * CHUNK as u64,
            meta_outside: 0,
        }
    }
}
