//! Generated gRPC code for the `tandem.v1` contract (`proto/tandem/v1`), nothing else.

/// The `tandem.v1` package: messages, clients and servers.
pub mod v1 {
    tonic::include_proto!("tandem.v1");
}

/// The encoded file descriptor set of the contract, for gRPC reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("tandem_descriptor");

/// `google.protobuf.Timestamp` ↔ `time::OffsetDateTime` and milliseconds since the epoch, in
/// one place.
pub mod timestamp {
    use prost_types::Timestamp;
    use time::OffsetDateTime;

    /// The instant of `ts`; `None` when out of range.
    pub fn to_offset(ts: &Timestamp) -> Option<OffsetDateTime> {
        OffsetDateTime::from_unix_timestamp_nanos(
            i128::from(ts.seconds) * 1_000_000_000 + i128::from(ts.nanos),
        )
        .ok()
    }

    pub fn from_offset(t: OffsetDateTime) -> Timestamp {
        Timestamp {
            seconds: t.unix_timestamp(),
            nanos: t.nanosecond() as i32,
        }
    }

    /// Milliseconds since the epoch of `ts`.
    pub fn to_millis(ts: &Timestamp) -> i64 {
        ts.seconds * 1_000 + i64::from(ts.nanos) / 1_000_000
    }

    pub fn from_millis(ms: i64) -> Timestamp {
        Timestamp {
            seconds: ms.div_euclid(1_000),
            nanos: (ms.rem_euclid(1_000) * 1_000_000) as i32,
        }
    }

    /// Now, in milliseconds since the epoch.
    pub fn now_millis() -> i64 {
        (OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn millis_and_instants_round_trip_before_and_after_the_epoch() {
            for ms in [-1_500, -1, 0, 1, 1_765_000_000_123] {
                let ts = from_millis(ms);
                assert_eq!(to_millis(&ts), ms);
                let t = to_offset(&ts).unwrap();
                assert_eq!(from_offset(t), ts);
            }
        }
    }
}
