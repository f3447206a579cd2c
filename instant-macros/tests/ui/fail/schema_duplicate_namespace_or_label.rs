use instant_macros::{schema, Entity};

#[derive(Entity)]
pub struct Goal {
    #[instant(indexed)]
    pub title: String,
}

#[derive(Entity)]
pub struct Todo {
    pub title: String,
}

schema! {
    entities {
        goals: Goal,
        goals: Todo,
    }
    links {
        a: goals.todos (many) <-> goals.parent (one),
        b: goals.todos (many) <-> goals.other (one),
    }
}

fn main() {}
