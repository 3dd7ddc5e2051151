fn main() {
    let dir = std::path::Path::new("../shared/corpus/public");
    let cfg = stickykey::Config::native();
    let mut keys = std::collections::HashMap::new();
    let manifest = std::fs::read_to_string(dir.join("manifest.jsonl")).unwrap();
    let ms: Vec<serde_json::Value> = manifest.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    for m in &ms {
        let f = m["file"].as_str().unwrap();
        let body = std::fs::read(dir.join(f)).unwrap();
        let k = stickykey::reference::content_key(&cfg, &body);
        keys.insert(f.to_string(), k);
    }
    let (mut ok, mut bad) = (0, 0);
    for m in &ms {
        let f = m["file"].as_str().unwrap();
        let api = m["api"].as_str().unwrap();
        let k = &keys[f];
        if m["invalid"].as_bool() == Some(true) {
            if matches!(k, Ok(Some(_))) { println!("INVALID GAVE KEY {f} {k:?}"); bad += 1 } else { ok += 1 }
            continue;
        }
        if api == "anthropic" { continue; }
        if let Some(s) = m["expect_same_key_as"].as_str() {
            if keys[s] != *k || !matches!(k, Ok(Some(_))) { println!("SAME FAIL {f} {s} {k:?} {:?}", keys[s]); bad += 1 } else { ok += 1 }
        }
        if let Some(ds) = m["expect_different_key_from"].as_array() {
            for d in ds { let d = d.as_str().unwrap(); if keys[d] == *k { println!("DIFF FAIL {f} {d}"); bad += 1 } else { ok += 1 } }
        }
        if let Err(e) = k { println!("ERR {f} {e}"); }
    }
    println!("ok {ok} bad {bad}");
}
