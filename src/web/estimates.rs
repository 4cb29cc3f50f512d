//! Short-lived memories of numbers that are expensive to count over a
//! million codes: estimated totals of large code lists (by brand and
//! filter), and the dashboard's code counts of large brands. Exact small
//! counts are never taken from here.

use crate::cache::TtlCache;
use crate::domain::BrandId;
use crate::store::reports::{CodeStats, ProgramRow};
use std::time::Duration;

/// Estimated totals of large code lists, for 30 s.
pub struct Estimates(TtlCache<(BrandId, String), i64>);

impl Default for Estimates {
    fn default() -> Self {
        Estimates(TtlCache::new(Duration::from_secs(30)))
    }
}

impl Estimates {
    pub fn get(&self, key: &(BrandId, String)) -> Option<i64> {
        self.0.get(key).map(|(n, _)| n)
    }
    pub fn put(&self, key: (BrandId, String), n: i64) {
        self.0.put(key, n)
    }
}

/// Brands with at least this many codes see dashboard counts up to a
/// minute old (the page says so); smaller brands are always counted.
pub const DASHBOARD_CACHE_FROM: i64 = 100_000;

/// The dashboard's code counts of large brands, for 60 s.
pub struct DashboardCounts(pub TtlCache<BrandId, (CodeStats, Vec<ProgramRow>)>);

impl Default for DashboardCounts {
    fn default() -> Self {
        DashboardCounts(TtlCache::new(Duration::from_secs(60)))
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
