//! Storage: the key-value port (`Store`), the record types written to it,
//! and the repository of patterns every flow shares (live reads of
//! short-lived records, sealed writes).

pub mod ledger;
pub mod links;
pub mod records;
pub mod repository;
pub mod single_use;
pub mod store;
