//! Property: whatever characters a parameter holds, a request signed by acs-sign verifies
//! (V1 or V3, query or form body), so encoding never turns into a signature mismatch.

mod common;

use common::*;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

#[test]
fn any_secret_name_survives_encoding_under_both_signatures() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let emu = rt.block_on(emulator());
    let mut runner = TestRunner::new(Config::with_cases(96));
    let strategy = ("[ -~]{0,24}|\\PC{0,24}", any::<bool>(), any::<bool>());
    runner
        .run(&strategy, |(name, v3, in_form)| {
            let mut req = Req::kms(&[("SecretName", &name), ("VersionStage", "ACSCurrent")]);
            if in_form {
                req = req.in_form();
            }
            let r = rt.block_on(async {
                if v3 {
                    send_v3(&emu, &ADMIN, &req).await
                } else {
                    send_v1(&emu, &ADMIN, &req).await
                }
            });
            let expected = if name.is_empty() {
                "MissingParameter"
            } else {
                "Forbidden.ResourceNotFound"
            };
            prop_assert_eq!(
                r.code(),
                expected,
                "name {:?} v3={} form={}: {}",
                name,
                v3,
                in_form,
                r.body
            );
            Ok(())
        })
        .unwrap();
}
