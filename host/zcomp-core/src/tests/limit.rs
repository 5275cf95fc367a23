// SPDX-License-Identifier: GPL-2.0

use crate::limit::*;

#[test]
fn stores_are_refused_from_the_limit_down_to_the_accept_threshold() {
    let limit = Limit::new();
    let (max, accept) = (100, 90);
    assert_eq!(limit.check(50, max, accept), LimitCheck::Accept);
    assert_eq!(limit.check(99, max, accept), LimitCheck::Accept);
    assert_eq!(limit.check(100, max, accept), LimitCheck::Full);
    // Writeback brings the pools down: still refused until the threshold.
    assert_eq!(limit.check(95, max, accept), LimitCheck::Draining);
    assert_eq!(limit.check(91, max, accept), LimitCheck::Draining);
    assert_eq!(limit.check(120, max, accept), LimitCheck::Full);
    assert_eq!(limit.check(90, max, accept), LimitCheck::Accept);
    // Drained: accepted again right up to the limit.
    assert_eq!(limit.check(99, max, accept), LimitCheck::Accept);
}

#[test]
fn a_zero_limit_refuses_everything() {
    let limit = Limit::new();
    assert_eq!(limit.check(0, 0, 0), LimitCheck::Full);
    assert_eq!(limit.check(0, 0, 0), LimitCheck::Full);
}
