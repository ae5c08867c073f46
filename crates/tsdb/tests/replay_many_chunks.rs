//! Regression: a head rebuilt from the WAL after several restarts, holding series
//! with many chunks each, must still answer queries with every sample.

use sightline_model::{Labels, Sample, TimeSeries, WriteBatch};
use sightline_tsdb::{StorageConfig, Tsdb};

fn batch(seq: i64) -> WriteBatch {
    let t = 1_700_000_000_000 + seq * 1000;
    WriteBatch {
        series: (0..20)
            .map(|i| TimeSeries {
                labels: Labels::from_pairs([
                    ("__name__", "m".to_string()),
                    ("series", i.to_string()),
                ]),
                samples: vec![Sample::new(t, (seq * 10 + i) as f64)],
                exemplars: vec![],
            })
            .collect(),
        metadata: vec![],
    }
}

fn count(db: &Tsdb) -> usize {
    let q = db
        .querier(-9_223_309_901_257_974, 9_223_309_901_257_974)
        .unwrap();
    let m = [sightline_model::Matcher::equal("__name__", "m")];
    q.select(&m)
        .unwrap()
        .iter()
        .map(|s| s.samples().len())
        .sum()
}

#[test]
fn restarts_with_many_chunks_keep_every_sample() {
    let dir = tempfile::tempdir().unwrap();
    let mut seq = 0;
    for round in 0..4 {
        let db = Tsdb::open(dir.path(), StorageConfig::default()).unwrap();
        assert_eq!(count(&db), (seq as usize) * 20, "after reopen {round}");
        for _ in 0..2000 {
            db.append(batch(seq)).unwrap();
            seq += 1;
        }
        assert_eq!(count(&db), (seq as usize) * 20, "before crash {round}");
        drop(db);
    }
}
