//! A short-lived memory of estimated totals of large code lists, so paging
//! through a million codes does not ask the planner on every page. Only
//! estimates ("about N") are kept; exact counts are always counted.

use crate::domain::BrandId;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const TTL: Duration = Duration::from_secs(30);
const MAX_ENTRIES: usize = 10_000;

#[derive(Default)]
pub struct Estimates(Mutex<HashMap<(BrandId, String), (Instant, i64)>>);

impl Estimates {
    pub fn get(&self, key: &(BrandId, String)) -> Option<i64> {
        let map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.get(key)
            .filter(|(at, _)| at.elapsed() < TTL)
            .map(|(_, n)| *n)
    }

    pub fn put(&self, key: (BrandId, String), n: i64) {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= MAX_ENTRIES {
            map.retain(|_, (at, _)| at.elapsed() < TTL);
        }
        map.insert(key, (Instant::now(), n));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_per_brand_and_filter() {
        let e = Estimates::default();
        let k = (BrandId(1), "status=active".to_string());
        assert_eq!(e.get(&k), None);
        e.put(k.clone(), 5_000);
        assert_eq!(e.get(&k), Some(5_000));
        assert_eq!(e.get(&(BrandId(2), "status=active".into())), None);
    }
}
