// SPDX-License-Identifier: GPL-2.0

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use proptest::prelude::*;

use super::prop::{config, max_ops};
use crate::host::HostPageSource;
use crate::lru::*;

#[test]
fn second_chance_takes_the_coldest_unreferenced_node() {
    let mut lru = Lru::new(HostPageSource::new());
    let ids: Vec<NodeId> = (0..4).map(|k| lru.insert(7, k).unwrap()).collect();
    assert_eq!(lru.keys(7), [3, 2, 1, 0]);
    // Every node starts referenced: the first pass clears the flags and rotates them all.
    assert_eq!(lru.isolate_coldest(7, 4), None);
    assert_eq!(lru.keys(7), [3, 2, 1, 0]);
    assert_eq!(lru.isolate_coldest(7, 1), Some((ids[0], 0)));
    assert_eq!(lru.keys(7), [3, 2, 1]);
    // An isolated node is still in use: it can be put back, once.
    assert_eq!(lru.len(), 4);
    assert_eq!(lru.putback(7, ids[0]), Ok(()));
    assert_eq!(lru.putback(7, ids[0]), Err(LruError::NotIsolated));
    assert_eq!(lru.keys(7), [0, 3, 2, 1]);
    assert_eq!(lru.remove(ids[2]), Ok(2));
    assert_eq!(lru.remove(ids[2]), Err(LruError::NoNode));
    assert_eq!(lru.keys(7), [0, 3, 1]);
    assert_eq!(lru.isolate_coldest(8, 10), None);
}

#[test]
fn an_offline_cgroups_nodes_go_to_the_cold_end_of_its_parent() {
    let mut lru = Lru::new(HostPageSource::new());
    for k in 0..3 {
        lru.insert(1, k).unwrap();
        lru.insert(2, 10 + k).unwrap();
    }
    lru.splice(2, 1).unwrap();
    assert_eq!(lru.keys(1), [2, 1, 0, 12, 11, 10]);
    assert!(lru.is_list_empty(2) && !lru.is_list_empty(1));
    // Splicing an empty or unknown list, or a list onto itself, changes nothing.
    lru.splice(2, 1).unwrap();
    lru.splice(9, 1).unwrap();
    lru.splice(1, 1).unwrap();
    assert_eq!(lru.keys(1).len(), 6);
    assert_eq!(lru.next_busy_list(1), Some(1));
    assert_eq!(lru.next_busy_list(u16::MAX), Some(1));
    // The round robin crosses pages of the list table, and skips lists that emptied.
    lru.insert(3000, 7).unwrap();
    let id = lru.insert(65535, 8).unwrap();
    assert_eq!(lru.next_busy_list(1), Some(3000));
    assert_eq!(lru.next_busy_list(3000), Some(65535));
    assert_eq!(lru.next_busy_list(65535), Some(1));
    lru.remove(id).unwrap();
    assert_eq!(lru.next_busy_list(3000), Some(1));
}

#[test]
fn nodes_take_pages_in_proportion_and_give_them_back() {
    let mut src = HostPageSource::new();
    {
        let mut lru = Lru::new(&mut src);
        assert_eq!(lru.pages(), 0);
        let ids: Vec<NodeId> = (0..1000).map(|k| lru.insert(3, k).unwrap()).collect();
        // One list page, one directory page, 1001 nodes of 256 a leaf.
        assert_eq!(lru.pages(), 1 + 1 + 4);
        for &id in &ids[1..] {
            lru.remove(id).unwrap();
        }
        // Freed nodes are reused before a new leaf is made.
        for k in 0..999 {
            lru.insert(3, k).unwrap();
        }
        assert_eq!((lru.len(), lru.pages()), (1000, 6));
        // With no node left in use, the LRU gives its pages back.
        let keep = lru.insert(4, 0).unwrap();
        while let Some((id, _)) = lru.isolate_coldest(3, 2000) {
            lru.remove(id).unwrap();
        }
        lru.remove(ids[0]).unwrap_err();
        assert_eq!(lru.pages(), 6);
        lru.remove(keep).unwrap();
        assert!(lru.is_empty() && lru.is_list_empty(3));
        assert_eq!(lru.pages(), 0);
    }
    assert_eq!(src.live_pages(), 0);
}

#[test]
fn failures_change_nothing() {
    let mut src = HostPageSource::new();
    src.fail_after(Some(0));
    let mut lru = Lru::new(&mut src);
    assert_eq!(lru.insert(1, 5), Err(LruError::NoMemory));
    assert_eq!(lru.insert(1, MAX_KEY + 1), Err(LruError::BadKey));
    assert!(lru.is_empty() && lru.is_list_empty(1));
    assert_eq!(
        lru.remove(NodeId::from_raw(1).unwrap()),
        Err(LruError::NoNode)
    );
}

#[derive(Clone, Debug)]
enum Op {
    Insert(u16, u64),
    Remove(usize),
    Isolate(u16, usize),
    Putback(u16, usize),
    Splice(u16, u16),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0u16..4, 0u64..1000).prop_map(|(l, k)| Op::Insert(l, k)),
        2 => any::<usize>().prop_map(Op::Remove),
        2 => (0u16..4, 0usize..6).prop_map(|(l, n)| Op::Isolate(l, n)),
        1 => (0u16..4, any::<usize>()).prop_map(|(l, i)| Op::Putback(l, i)),
        1 => (0u16..4, 0u16..4).prop_map(|(a, b)| Op::Splice(a, b)),
    ]
}

/// The model: per list, (node, key, referenced) from the warm end; the isolated nodes.
#[derive(Default)]
struct Model {
    lists: BTreeMap<u16, VecDeque<(NodeId, u64, bool)>>,
    isolated: BTreeMap<NodeId, u64>,
}

impl Model {
    fn live(&self) -> Vec<NodeId> {
        let linked = self.lists.values().flatten().map(|&(id, _, _)| id);
        linked.chain(self.isolated.keys().copied()).collect()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn agrees_with_a_model(ops in prop::collection::vec(op(), 1..max_ops())) {
        let mut src = HostPageSource::new();
        let mut lru = Lru::new(&mut src);
        let mut m = Model::default();
        for op in ops {
            match op {
                Op::Insert(l, k) => {
                    let id = lru.insert(l, k).unwrap();
                    prop_assert!(!m.live().contains(&id));
                    m.lists.entry(l).or_default().push_front((id, k, true));
                }
                Op::Remove(i) => {
                    let live = m.live();
                    if live.is_empty() {
                        continue;
                    }
                    let id = live[i % live.len()];
                    let key = match m.isolated.remove(&id) {
                        Some(k) => k,
                        None => {
                            let list = m.lists.values_mut().find(|l| l.iter().any(|n| n.0 == id)).unwrap();
                            let p = list.iter().position(|n| n.0 == id).unwrap();
                            list.remove(p).unwrap().1
                        }
                    };
                    prop_assert_eq!(lru.remove(id), Ok(key));
                }
                Op::Isolate(l, n) => {
                    let list = m.lists.entry(l).or_default();
                    let mut want = None;
                    for _ in 0..n {
                        let Some((id, k, r)) = list.pop_back() else { break };
                        if r {
                            list.push_front((id, k, false));
                        } else {
                            want = Some((id, k));
                            break;
                        }
                    }
                    if let Some((id, k)) = want {
                        m.isolated.insert(id, k);
                    }
                    prop_assert_eq!(lru.isolate_coldest(l, n), want);
                }
                Op::Putback(l, i) => {
                    let iso: Vec<NodeId> = m.isolated.keys().copied().collect();
                    if iso.is_empty() {
                        continue;
                    }
                    let id = iso[i % iso.len()];
                    let k = m.isolated.remove(&id).unwrap();
                    m.lists.entry(l).or_default().push_front((id, k, false));
                    prop_assert_eq!(lru.putback(l, id), Ok(()));
                }
                Op::Splice(a, b) => {
                    if a != b {
                        let moved = m.lists.remove(&a).unwrap_or_default();
                        m.lists.entry(b).or_default().extend(moved);
                    }
                    prop_assert_eq!(lru.splice(a, b), Ok(()));
                }
            }
            for (&l, list) in &m.lists {
                let keys: Vec<u64> = list.iter().map(|n| n.1).collect();
                prop_assert_eq!(lru.keys(l), keys);
                prop_assert_eq!(lru.is_list_empty(l), list.is_empty());
            }
            let ids: BTreeSet<NodeId> = m.live().into_iter().collect();
            prop_assert_eq!(ids.len(), lru.len());
        }
        drop(lru);
        prop_assert_eq!(src.live_pages(), 0);
    }
}
