//! The site's text files: a data-path catalog file (`signatures/*.toml`, `--signatures-extra`)
//! and an `--inventory` file. Any bytes must load or be refused with errors, never panic; an
//! inventory that loads answers lookups for any address.

#![no_main]

use exwatch::classify::Catalog;
use exwatch::classify::inventory::Inventory;
use exwatch::decode::Addr;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Err(errors) = Catalog::from_sources(&[("fuzz.toml", text)]) {
        assert!(!errors.is_empty());
    }
    match Inventory::from_text("fuzz.toml", text) {
        Ok(inv) => {
            for a in [
                Addr::v4([10, 1, 0, 5]),
                Addr::v4([203, 0, 113, 10]),
                Addr::v4([0, 0, 0, 0]),
            ] {
                let _ = inv.roles_of(&a);
                let _ = inv.is_internal(&a);
            }
        }
        Err(errors) => assert!(!errors.is_empty()),
    }
});
