// The script reducer of scripts/bench-big-store.sh: an account of the guide's benchmark
// store (../shared/tools/gen_guide_store.py), folded the way a team's projection would.
fromCategory("account")
  .when({
    $init() { return { balance: 0, deposits: 0, withdrawals: 0, transfers: 0 }; },
    AccountOpened(state, event) {
      state.owner = event.data.owner;
      state.currency = event.data.currency;
      state.overdraft_limit = Number(event.data.overdraft_limit);
    },
    MoneyDeposited(state, event) {
      const amount = event.data.amount;
      state.balance += Number(typeof amount === "object" ? amount.value : amount);
      state.deposits += 1;
    },
    MoneyWithdrawn(state, event) {
      state.balance -= Number(event.data.amount);
      state.withdrawals += 1;
    },
    TransferSent(state, event) {
      state.balance -= Number(event.data.amount);
      state.transfers += 1;
    },
    TransferReceived(state, event) {
      state.balance += Number(event.data.amount);
      state.transfers += 1;
    },
    CreditLimitChanged(state, event) {
      state.overdraft_limit = Number(event.data.new_limit);
    },
    $any(state, event) { state.last = event.type; },
  });
