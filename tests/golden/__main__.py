from tests.golden import CASES, regenerate

regenerate()
print(f"regenerated {len(CASES)} golden files")
