//! The charts crate's one integration-test binary: parsing the run files, the series each figure plots, the
//! rendered files, and the HTML reports. Set `CHARTS_KEEP_TEST_OUTPUT=1` to keep the rendered run directories and look at the charts.

mod figures;
mod fixtures;
mod html;
mod parse;
mod render;
