//! The account service: a SQLite ledger served over rpc-runtime. (Built in a later step.)
