//! How enums are stored: the integers of `accounts.status` and `ledger.kind`, the same in
//! SQLite and PostgreSQL, and row ids as the API's `u64`.

use account_client::api::{AccountStatus, EntryKind};

/// The `status` column's integer.
pub(crate) fn status_code(status: AccountStatus) -> i64 {
    match status {
        AccountStatus::Open => 1,
        AccountStatus::Closed => 2,
    }
}

/// The status stored as `code`, if it is one.
pub(crate) fn status(code: i64) -> Option<AccountStatus> {
    match code {
        1 => Some(AccountStatus::Open),
        2 => Some(AccountStatus::Closed),
        _ => None,
    }
}

/// The `kind` column's integer.
pub(crate) fn kind_code(kind: EntryKind) -> i64 {
    match kind {
        EntryKind::Opening => 1,
        EntryKind::Deposit => 2,
        EntryKind::Withdrawal => 3,
        EntryKind::TransferOut => 4,
        EntryKind::TransferIn => 5,
    }
}

/// The entry kind stored as `code`, if it is one.
pub(crate) fn kind(code: i64) -> Option<EntryKind> {
    Some(match code {
        1 => EntryKind::Opening,
        2 => EntryKind::Deposit,
        3 => EntryKind::Withdrawal,
        4 => EntryKind::TransferOut,
        5 => EntryKind::TransferIn,
        _ => return None,
    })
}

/// A row id as the API's `u64`.
pub(crate) fn to_id(id: i64) -> u64 {
    u64::try_from(id).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for s in [AccountStatus::Open, AccountStatus::Closed] {
            assert_eq!(status(status_code(s)), Some(s));
        }
        for k in [
            EntryKind::Opening,
            EntryKind::Deposit,
            EntryKind::Withdrawal,
            EntryKind::TransferOut,
            EntryKind::TransferIn,
        ] {
            assert_eq!(kind(kind_code(k)), Some(k));
        }
        assert_eq!((status(0), kind(6)), (None, None));
    }
}
