//! xtask's tests. `deploy` checks deploy/kubernetes and the Dockerfile (`manifest` reads them, `wrapper` runs a
//! container's command with a stand-in tgload, as its pod would).

mod deploy;
mod manifest;
mod wrapper;
