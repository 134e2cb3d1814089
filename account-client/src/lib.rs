//! The account client library and command-line tool. (Built in a later step.)
