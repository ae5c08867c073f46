//! Lets the PromQL engine read the TSDB: the engine defines the storage traits it
//! needs (`sightline_promql::Queryable` …) and this adapter implements them over
//! `sightline_tsdb::Querier`, so neither engine depends on the other.

use std::sync::Arc;

use sightline_model::{Labels, Matcher, Sample};
use sightline_promql::error::StorageError;
use sightline_promql::{Queryable, SampleIter, SeriesSource, StoredSeries};
use sightline_tsdb::{Querier, Series, SeriesIter, Tsdb};

/// The TSDB as a PromQL [`Queryable`].
#[derive(Clone)]
pub struct TsdbQueryable(pub Arc<Tsdb>);

struct Source(Querier);
struct StoredTsdbSeries(Series);
struct Iter<'a>(SeriesIter<'a>);

impl Queryable for TsdbQueryable {
    fn querier(&self, mint: i64, maxt: i64) -> Result<Box<dyn SeriesSource + '_>, StorageError> {
        let q = self
            .0
            .querier(mint, maxt)
            .map_err(|e| StorageError(e.to_string()))?;
        Ok(Box::new(Source(q)))
    }
}

impl SeriesSource for Source {
    fn select(
        &self,
        matchers: &[Matcher],
    ) -> Result<Vec<Box<dyn StoredSeries + '_>>, StorageError> {
        let series = self
            .0
            .select(matchers)
            .map_err(|e| StorageError(e.to_string()))?;
        Ok(series
            .into_iter()
            .map(|s| Box::new(StoredTsdbSeries(s)) as Box<dyn StoredSeries>)
            .collect())
    }
}

impl StoredSeries for StoredTsdbSeries {
    fn labels(&self) -> &Labels {
        &self.0.labels
    }

    fn iter(&self) -> Box<dyn SampleIter + '_> {
        Box::new(Iter(self.0.iter()))
    }
}

impl SampleIter for Iter<'_> {
    fn next(&mut self) -> Option<Sample> {
        self.0.next()
    }

    fn seek(&mut self, t: i64) -> Option<Sample> {
        self.0.seek(t)
    }
}
