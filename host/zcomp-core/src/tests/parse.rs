// SPDX-License-Identifier: GPL-2.0

use crate::parse::*;

#[test]
fn sizes_parse_as_memparse_does() {
    assert_eq!(parse_size(b"4096"), Some(4096));
    assert_eq!(parse_size(b"2M\n"), Some(2 << 20));
    assert_eq!(parse_size(b"1g"), Some(1 << 30));
    assert_eq!(parse_size(b"100G"), Some(100 << 30));
    assert_eq!(parse_size(b"0x1000"), Some(4096));
    assert_eq!(parse_size(b"010"), Some(8));
    assert_eq!(parse_size(b"0"), Some(0));
    assert_eq!(parse_size(b"15E"), Some(15 << 60));
    assert_eq!(parse_size(b"0x1E"), Some(30));
    assert_eq!(parse_size(b"0x1K"), Some(1024));
}

#[test]
fn sizes_refuse_anything_else() {
    for bad in [
        &b""[..],
        b"\n",
        b"M",
        b"-1",
        b" 1",
        b"1 ",
        b"1MB",
        b"1M\n\n",
        b"0x",
        b"09",
        b"16E",
        b"18446744073709551616",
        b"1.5G",
    ] {
        assert_eq!(parse_size(bad), None, "{:?}", core::str::from_utf8(bad));
    }
}

#[test]
fn counts_parse_as_kstrtoull_does() {
    assert_eq!(parse_u64(b"0\n"), Some(0));
    assert_eq!(parse_u64(b"+17"), Some(17));
    assert_eq!(parse_u64(b"18446744073709551615"), Some(u64::MAX));
    for bad in [
        &b""[..],
        b"-1",
        b"1x",
        b"0x10",
        b"18446744073709551616",
        b"1\n\n",
    ] {
        assert_eq!(parse_u64(bad), None);
    }
}

#[test]
fn c_numbers_parse_as_kstrtoull_base_0_does() {
    assert_eq!(parse_c_u64(b"30\n"), Some(30));
    assert_eq!(parse_c_u64(b"+0x1e"), Some(30));
    assert_eq!(parse_c_u64(b"036"), Some(30));
    assert_eq!(parse_c_u64(b"0"), Some(0));
    for bad in [&b""[..], b"-1", b"08", b"0x", b"1s", b"all", b"30\n\n"] {
        assert_eq!(parse_c_u64(bad), None, "{:?}", core::str::from_utf8(bad));
    }
}

#[test]
fn signed_numbers_parse_as_kstrtoint_does() {
    assert_eq!(parse_i32(b"3"), Some(3));
    assert_eq!(parse_i32(b"-1\n"), Some(-1));
    assert_eq!(parse_i32(b"+22"), Some(22));
    assert_eq!(parse_i32(b"-2147483648"), Some(i32::MIN));
    assert_eq!(parse_i32(b"2147483647"), Some(i32::MAX));
    for bad in [
        &b""[..],
        b"-",
        b"+",
        b"2147483648",
        b"-2147483649",
        b"0x3",
        b"--1",
        b"3 ",
    ] {
        assert_eq!(parse_i32(bad), None, "{:?}", core::str::from_utf8(bad));
    }
}

#[test]
fn key_values_split_as_next_arg_does() {
    let words: Vec<_> = key_values(b"  type=idle\tmax_pages=10 algo=zstd\n").collect();
    assert_eq!(
        words,
        [
            Some((&b"type"[..], &b"idle"[..])),
            Some((b"max_pages", b"10")),
            Some((b"algo", b"zstd")),
        ]
    );
    assert_eq!(key_values(b"\n").count(), 0);
    assert_eq!(
        key_values(b"a=b=c").collect::<Vec<_>>(),
        [Some((&b"a"[..], &b"b=c"[..]))]
    );
    for bad in [&b"type"[..], b"type=", b"=idle", b"="] {
        assert_eq!(key_values(bad).collect::<Vec<_>>(), [None], "{bad:?}");
    }
}
