fn main() {
    for p in std::env::args().skip(1) {
        let d = std::fs::read(&p).unwrap();
        let t = std::time::Instant::now();
        let dec = dumpguard::keys::decode::private_key_der(&d);
        println!("decode {:?} {}", t.elapsed(), dec.is_some());
        if let Some(k) = dec {
            let t = std::time::Instant::now();
            let v = dumpguard::keys::verify(&k.key);
            println!("verify {:?} {:?} {}", t.elapsed(), v.status, v.verification);
        }
    }
}
