// A KurrentDB-style projection of the guide store's accounts (benchmark reducer for
// `eventscope state STORE account-1 --reducer benches/replay/guide_account.js`).
fromCategory('account').when({
  $init() {
    return { balance: 0, events: 0, deposits: 0, withdrawals: 0, transfers_in: 0, transfers_out: 0 };
  },
  AccountOpened(s, e) {
    s.owner = e.data.owner.name;
    s.currency = e.data.currency;
    s.kind = e.data.kind;
    s.limit = e.data.overdraft_limit;
    s.events++;
  },
  MoneyDeposited(s, e) {
    const amount = typeof e.data.amount === 'object' ? e.data.amount.value : e.data.amount;
    s.balance += Math.round(parseFloat(amount) * 100);
    s.deposits++;
    s.events++;
  },
  MoneyWithdrawn(s, e) {
    s.balance -= Math.round(parseFloat(e.data.amount) * 100);
    s.withdrawals++;
    s.events++;
  },
  TransferSent(s, e) {
    s.balance -= Math.round(parseFloat(e.data.amount) * 100);
    s.transfers_out++;
    s.last_transfer = e.data.transfer_id;
    s.events++;
  },
  TransferReceived(s, e) {
    s.balance += Math.round(parseFloat(e.data.amount) * 100);
    s.transfers_in++;
    s.last_transfer = e.data.transfer_id;
    s.events++;
  },
  CreditLimitChanged(s, e) {
    s.limit = e.data.new_limit;
    s.events++;
  },
  AddressChanged(s, e) {
    s.address = { city: e.data.city, country: e.data.country };
    s.events++;
  },
});
