"""One-to-one optimization: a contextual bandit policy, pure (no Django).

Split by question (docs/optimization.md):

- `features`: a declared feature spec and its encoder (visitor document -> numeric row).
- `train`: fit a shallow tree on logged decisions and compile it, with Thompson
  probabilities per leaf, into a `CompiledPolicy` of plain tables (needs scikit-learn).
- `serve`: walk the compiled tables and draw an arm deterministically (plain Python).
- `reward`: a per-arm reward model (the direct-method part of doubly robust estimates).
- `ope`: off-policy estimates (IPS, self-normalised IPS, doubly robust) and the promotion
  gate.

Nothing is imported here on purpose: delivery imports `serve` and `features` only, so
serving never loads numpy or scikit-learn.
"""
