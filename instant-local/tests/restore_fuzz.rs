//! `backup::read` never panics on damaged input: random byte corruptions of a
//! backup zip and of entity lines give `Ok` or a `BackupError`, nothing else.

mod common;

use std::sync::OnceLock;

use common::data;
use common::fixtures::{copy_backup, zip_folder, TempDir};
use instant_local::backup;
use proptest::prelude::*;

fn zip_bytes() -> &'static Vec<u8> {
    static BYTES: OnceLock<Vec<u8>> = OnceLock::new();
    BYTES.get_or_init(|| {
        let tmp = TempDir::new("fuzz-src");
        let z = tmp.join("movies.zip");
        zip_folder(&data::dataset_dir("movies").join("backup"), &z);
        std::fs::read(&z).expect("zip")
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn corrupted_zips_never_panic(flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8)) {
        let mut bytes = zip_bytes().clone();
        for (at, b) in flips {
            let i = at.index(bytes.len());
            bytes[i] ^= b | 1;
        }
        let tmp = TempDir::new("fuzz-zip");
        let p = tmp.join("b.zip");
        std::fs::write(&p, &bytes).unwrap();
        let _ = backup::read(&p);
    }

    #[test]
    fn corrupted_lines_never_panic(line in 0usize..50, cut in any::<prop::sample::Index>(), junk in ".{0,12}") {
        let tmp = TempDir::new("fuzz-dir");
        copy_backup(&data::dataset_dir("movies").join("backup"), &tmp.0);
        let p = tmp.join("entities/person.jsonl");
        let text = std::fs::read_to_string(&p).unwrap();
        let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
        let l = &mut lines[line];
        let mut at = cut.index(l.len() + 1);
        while !l.is_char_boundary(at) {
            at -= 1;
        }
        l.insert_str(at, &junk);
        std::fs::write(&p, lines.join("\n") + "\n").unwrap();
        match backup::read(&tmp.0) {
            Ok(b) => prop_assert_eq!(b.entities.len(), 70),
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
    }
}
