#include "tests/txn/txn_helpers.h"
const tkv_test_t model_tests[] = {
    { 0 },
};
