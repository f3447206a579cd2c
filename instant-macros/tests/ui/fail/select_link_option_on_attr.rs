#[allow(dead_code, unused_imports)]
#[path = "../../fixtures/model.rs"]
mod model;
#[allow(unused_imports)]
use instant_core::typed::*;
#[allow(unused_imports)]
use instant_core::Id;
use model::*;


#[derive(instant_macros::Select)]
#[instant(entity = goals)]
pub struct Card {
    #[instant(order(todos::created_at.desc()))]
    pub title: String,
}

fn main() {}