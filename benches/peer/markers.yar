// The literal private-key markers dumpguard also anchors on (scripts/bench-peer.py): PEM
// headers in ASCII and UTF-16LE, openssh-key-v1, CNG RSA2/RSA3/ECS2 blob magics and the
// CryptoAPI PRIVATEKEYBLOB header. Twelve rules, literals only: the peer's best case.
rule pem_rsa { strings: $a = "-----BEGIN RSA PRIVATE KEY-----" ascii wide condition: $a }
rule pem_pkcs8 { strings: $a = "-----BEGIN PRIVATE KEY-----" ascii wide condition: $a }
rule pem_encrypted { strings: $a = "-----BEGIN ENCRYPTED PRIVATE KEY-----" ascii wide condition: $a }
rule pem_ec { strings: $a = "-----BEGIN EC PRIVATE KEY-----" ascii wide condition: $a }
rule pem_dsa { strings: $a = "-----BEGIN DSA PRIVATE KEY-----" ascii wide condition: $a }
rule pem_openssh { strings: $a = "-----BEGIN OPENSSH PRIVATE KEY-----" ascii wide condition: $a }
rule openssh_v1 { strings: $a = "openssh-key-v1\x00" condition: $a }
rule cng_rsa2 { strings: $a = "RSA2" condition: $a }
rule cng_rsa3 { strings: $a = "RSA3" condition: $a }
rule cng_ecs2 { strings: $a = "ECS2" condition: $a }
rule capi_privatekeyblob_keyx { strings: $a = { 07 02 00 00 00 A4 00 00 } condition: $a }
rule capi_privatekeyblob_sign { strings: $a = { 07 02 00 00 00 24 00 00 } condition: $a }
