#[allow(dead_code, unused_imports)]
#[path = "../../fixtures/model.rs"]
mod model;
#[allow(unused_imports)]
use instant_core::typed::*;
#[allow(unused_imports)]
use instant_core::Id;
use model::*;


#[derive(instant_macros::Select)]
#[instant(entity = todos)]
pub struct Line {
    pub title: i64,
}

fn main() {}