//! Segmented, checksummed write-ahead log shared by every signal's storage.
