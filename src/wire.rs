//! Wire types of the platform contract (`spec/protocol.md`): being written.
