//! The charts crate's one integration-test binary: parsing the run files, the series each figure plots, and the
//! rendered files. Set `CHARTS_KEEP_TEST_OUTPUT=1` to keep the rendered run directories and look at the charts.

mod figures;
mod fixtures;
mod parse;
mod render;
