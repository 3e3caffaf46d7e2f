//! A page cache for virtualised tables over very long lists (streams, a stream's events).
//!
//! Rows are fetched a page at a time by background jobs for the pages the table shows;
//! pages far from the viewport are evicted so memory stays bounded whatever the length.

use std::collections::{BTreeMap, BTreeSet};

/// Pages kept in memory at most.
const MAX_PAGES: usize = 40;

/// Cached pages of a long list.
#[derive(Debug)]
pub struct PagedRows<T> {
    /// Rows per page.
    pub page_size: u64,
    pages: BTreeMap<u64, Vec<T>>,
    /// Pages being fetched, with the job fetching each (once known).
    pending: BTreeMap<u64, Option<u64>>,
    /// Pages whose fetch failed: not asked again until [`Self::retry`].
    failed: BTreeSet<u64>,
    /// The exact number of rows, once known.
    pub total: Option<u64>,
    /// Bumped on every reset; results of older generations are dropped.
    pub generation: u64,
}

impl<T> PagedRows<T> {
    /// An empty cache.
    #[must_use]
    pub fn new(page_size: u64) -> Self {
        Self {
            page_size,
            pages: BTreeMap::new(),
            pending: BTreeMap::new(),
            failed: BTreeSet::new(),
            total: None,
            generation: 0,
        }
    }

    /// Forgets everything (new query); returns the new generation.
    pub fn reset(&mut self) -> u64 {
        self.pages.clear();
        self.pending.clear();
        self.failed.clear();
        self.total = None;
        self.generation += 1;
        self.generation
    }

    /// Drops one page so it is fetched again (e.g. the last page of a growing stream).
    pub fn invalidate_page(&mut self, page: u64) {
        self.pages.remove(&page);
        self.pending.remove(&page);
    }

    /// The row at `index`, if loaded.
    #[must_use]
    pub fn row(&self, index: u64) -> Option<&T> {
        let page = index / self.page_size;
        let offset = usize::try_from(index % self.page_size).ok()?;
        self.pages.get(&page)?.get(offset)
    }

    /// Number of loaded pages.
    #[must_use]
    pub fn loaded_pages(&self) -> usize {
        self.pages.len()
    }

    /// True while any page is being fetched.
    #[must_use]
    pub fn is_loading(&self) -> bool {
        !self.pending.is_empty()
    }

    /// How many rows the table should have: the exact total, or while unknown, what is
    /// loaded plus one more page to scroll into.
    #[must_use]
    pub fn display_rows(&self) -> u64 {
        if let Some(total) = self.total {
            return total;
        }
        match self.pages.iter().next_back() {
            Some((&page, rows)) => {
                let end = page * self.page_size + rows.len() as u64;
                if (rows.len() as u64) < self.page_size {
                    end
                } else {
                    end + self.page_size
                }
            }
            None => 0,
        }
    }

    /// Pages covering rows `first..=last` that are neither loaded nor being fetched; they
    /// are marked as being fetched.
    pub fn want(&mut self, first: u64, last: u64) -> Vec<u64> {
        let mut wanted = Vec::new();
        let last = match self.total {
            Some(0) => return wanted,
            Some(total) => last.min(total.saturating_sub(1)),
            None => last,
        };
        for page in first / self.page_size..=last / self.page_size {
            if !self.pages.contains_key(&page)
                && !self.pending.contains_key(&page)
                && !self.failed.contains(&page)
            {
                self.pending.insert(page, None);
                wanted.push(page);
            }
        }
        wanted
    }

    /// Loaded pages covering rows `first..=last`, marked as being fetched again (their rows
    /// stay visible until the fresh ones arrive): for refreshing what is on screen.
    pub fn refresh(&mut self, first: u64, last: u64) -> Vec<u64> {
        let mut again = Vec::new();
        for page in first / self.page_size..=last / self.page_size {
            if self.pages.contains_key(&page) && !self.pending.contains_key(&page) {
                self.pending.insert(page, None);
                again.push(page);
            }
        }
        again
    }

    /// Records the job fetching a page.
    pub fn set_job(&mut self, page: u64, job_id: u64) {
        if let Some(job) = self.pending.get_mut(&page) {
            *job = Some(job_id);
        }
    }

    /// Pages being fetched that are no longer near rows `first..=last` (the user scrolled
    /// past them): they are forgotten, and their jobs returned for cancelling, so a fast
    /// scroll does not queue up reads nobody will see.
    pub fn stale(&mut self, first: u64, last: u64) -> Vec<u64> {
        let low = (first / self.page_size).saturating_sub(1);
        let high = last / self.page_size + 1;
        let stale: Vec<u64> = self
            .pending
            .keys()
            .copied()
            .filter(|page| *page < low || *page > high)
            .collect();
        stale
            .into_iter()
            .filter_map(|page| self.pending.remove(&page).flatten())
            .collect()
    }

    /// The pages `job_id` was fetching failed: they are not asked again until
    /// [`Self::retry`] (a dead server is not hammered every frame). Returns whether the job
    /// was one of this list's.
    pub fn fail_job(&mut self, job_id: u64) -> bool {
        let pages: Vec<u64> = self
            .pending
            .iter()
            .filter(|(_, job)| **job == Some(job_id))
            .map(|(page, _)| *page)
            .collect();
        for page in &pages {
            self.pending.remove(page);
            self.failed.insert(*page);
        }
        !pages.is_empty()
    }

    /// True when the row at `index` is in a page whose fetch failed.
    #[must_use]
    pub fn is_failed(&self, index: u64) -> bool {
        self.failed.contains(&(index / self.page_size))
    }

    /// True when some page failed to load.
    #[must_use]
    pub fn has_failed(&self) -> bool {
        !self.failed.is_empty()
    }

    /// Failed pages may be fetched again (the user asked, or the store answers again).
    pub fn retry(&mut self) {
        self.failed.clear();
    }

    /// Forgets that a page is being fetched (its job failed or could not be queued).
    pub fn abandon(&mut self, page: u64) {
        self.pending.remove(&page);
    }

    /// Stores a fetched page. A short page tells the total.
    pub fn insert(&mut self, generation: u64, page: u64, rows: Vec<T>) {
        if generation != self.generation {
            return;
        }
        self.pending.remove(&page);
        if (rows.len() as u64) < self.page_size && self.total.is_none() {
            self.total = Some(page * self.page_size + rows.len() as u64);
        }
        self.pages.insert(page, rows);
        // Evict the pages farthest from this one.
        while self.pages.len() > MAX_PAGES {
            let first = *self.pages.keys().next().unwrap_or(&0);
            let last = *self.pages.keys().next_back().unwrap_or(&0);
            let victim = if page.abs_diff(first) > page.abs_diff(last) {
                first
            } else {
                last
            };
            self.pages.remove(&victim);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_pages_wait_for_a_retry() {
        let mut rows = PagedRows::<u64>::new(10);
        let generation = rows.reset();
        assert_eq!(rows.want(0, 15), vec![0, 1]);
        rows.set_job(0, 7);
        rows.set_job(1, 8);
        rows.insert(generation, 0, (0..10).collect());
        assert!(!rows.fail_job(99), "another list's job");
        assert!(rows.fail_job(8));
        assert!(rows.is_failed(12) && !rows.is_failed(3) && rows.has_failed());
        assert!(!rows.is_loading());
        assert!(
            rows.want(0, 15).is_empty(),
            "a failed page is not asked again"
        );
        rows.retry();
        assert!(!rows.has_failed());
        assert_eq!(rows.want(0, 15), vec![1]);
        assert_eq!(rows.row(3), Some(&3), "loaded rows stay");
    }

    #[test]
    fn pages_fill_and_evict() {
        let mut rows = PagedRows::<u64>::new(10);
        let generation = rows.reset();
        assert_eq!(rows.want(0, 25), vec![0, 1, 2]);
        assert!(
            rows.want(0, 25).is_empty(),
            "pending pages are not asked twice"
        );
        rows.insert(generation, 0, (0..10).collect());
        assert_eq!(rows.row(3), Some(&3));
        assert_eq!(rows.display_rows(), 20);
        rows.insert(generation, 1, (10..15).collect());
        assert_eq!(rows.total, Some(15));
        assert_eq!(rows.row(14), Some(&14));
        // Stale generations are ignored.
        rows.insert(generation - 1, 2, vec![99]);
        assert_eq!(rows.row(20), None);
        for page in 0..100 {
            rows.insert(generation, page, vec![page; 10]);
        }
        assert!(rows.loaded_pages() <= MAX_PAGES);
        assert!(rows.row(99 * 10).is_some(), "the newest page is kept");
    }
}
