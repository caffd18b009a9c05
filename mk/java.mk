# SPDX-License-Identifier: MIT
# Java front end (bindings/java, bindings/swig/qsem.i, tests/java).
BINDINGS += -DQSEM_BUILD_JAVA=ON
.PHONY: java test-java

# The JNI library, the classes and the Maven jar in $(BUILD)-java.
java:
	sh scripts/install-deps.sh core swig java
	$(call configure_front_end,$(BUILD)-java,-DQSEM_BUILD_JAVA=ON)

test-java: java
	ctest --test-dir $(BUILD)-java --output-on-failure -L java
