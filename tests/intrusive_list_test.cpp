// SPDX-License-Identifier: MIT
// intrusive_list_test.cpp: the list behind the run queue, the free lists,
// channel waiters and the runtime's channels and ios (core/intrusive_list.h),
// on its own (internal): every operation leaves the whole order, both link
// directions and the count as a FIFO list would have them.
#include <gtest/gtest.h>

#include <vector>

#include "core/intrusive_list.h"

namespace {

struct node {
  int id = 0;
  node* next = nullptr;
  node* prev = nullptr;
};

using counted = async::detail::intrusive_list<node, true>;
using uncounted = async::detail::intrusive_list<node>;

static_assert(sizeof(uncounted) == 2 * sizeof(node*), "an uncounted list is two pointers");
static_assert(sizeof(counted) == 3 * sizeof(node*), "a counted list adds one word");

// The ids head to tail, after checking that walking tail to head gives the
// same order backwards and that the ends have no outside links.
template <class List>
std::vector<int> ids(const List& l) {
  std::vector<int> forward;
  for (node* n = l.head; n != nullptr; n = n->next) forward.push_back(n->id);
  std::vector<int> backward;
  for (node* n = l.tail; n != nullptr; n = n->prev) backward.insert(backward.begin(), n->id);
  EXPECT_EQ(forward, backward);
  if (l.head != nullptr) {
    EXPECT_EQ(l.head->prev, nullptr);
    EXPECT_EQ(l.tail->next, nullptr);
  } else {
    EXPECT_EQ(l.tail, nullptr);
  }
  return forward;
}

struct IntrusiveListTest : ::testing::Test {
  node n[6];
  void SetUp() override {
    for (int i = 0; i < 6; ++i) n[i].id = i;
  }
};

TEST_F(IntrusiveListTest, PushBackAndPopFrontAreFifo) {
  counted l;
  EXPECT_TRUE(l.empty());
  EXPECT_EQ(l.pop_front(), nullptr);
  for (int i = 0; i < 4; ++i) l.push_back(&n[i]);
  EXPECT_EQ(ids(l), (std::vector<int>{0, 1, 2, 3}));
  EXPECT_EQ(l.size(), 4u);
  EXPECT_EQ(l.pop_front(), &n[0]);
  EXPECT_EQ(l.pop_front(), &n[1]);
  EXPECT_EQ(ids(l), (std::vector<int>{2, 3}));
  EXPECT_EQ(l.size(), 2u);
  EXPECT_EQ(l.pop_front(), &n[2]);
  EXPECT_EQ(l.pop_front(), &n[3]);
  EXPECT_TRUE(l.empty());
  EXPECT_EQ(ids(l), std::vector<int>{});
  EXPECT_EQ(l.size(), 0u);
}

TEST_F(IntrusiveListTest, PushFrontPutsNewestFirst) {
  uncounted l;
  l.push_front(&n[0]);
  l.push_front(&n[1]);
  l.push_back(&n[2]);
  l.push_front(&n[3]);
  EXPECT_EQ(ids(l), (std::vector<int>{3, 1, 0, 2}));
}

TEST_F(IntrusiveListTest, RemoveFromHeadMiddleAndTailClearsTheLinks) {
  counted l;
  for (int i = 0; i < 5; ++i) l.push_back(&n[i]);
  l.remove(&n[2]);
  EXPECT_EQ(ids(l), (std::vector<int>{0, 1, 3, 4}));
  l.remove(&n[0]);
  EXPECT_EQ(ids(l), (std::vector<int>{1, 3, 4}));
  l.remove(&n[4]);
  EXPECT_EQ(ids(l), (std::vector<int>{1, 3}));
  EXPECT_EQ(l.size(), 2u);
  for (int i : {0, 2, 4}) {
    EXPECT_EQ(n[i].next, nullptr) << i;
    EXPECT_EQ(n[i].prev, nullptr) << i;
  }
  l.remove(&n[1]);
  l.remove(&n[3]);
  EXPECT_TRUE(l.empty());
  EXPECT_EQ(ids(l), std::vector<int>{});
  EXPECT_EQ(l.size(), 0u);
}

TEST_F(IntrusiveListTest, SpliceBackAppendsInOrderAndEmptiesTheOther) {
  counted a;
  counted b;
  a.push_back(&n[0]);
  a.push_back(&n[1]);
  b.push_back(&n[2]);
  b.push_back(&n[3]);
  b.push_back(&n[4]);
  a.splice_back(b);
  EXPECT_EQ(ids(a), (std::vector<int>{0, 1, 2, 3, 4}));
  EXPECT_EQ(a.size(), 5u);
  EXPECT_TRUE(b.empty());
  EXPECT_EQ(b.size(), 0u);
  a.splice_back(b);  // an empty other changes nothing
  EXPECT_EQ(ids(a), (std::vector<int>{0, 1, 2, 3, 4}));
  EXPECT_EQ(a.size(), 5u);
  counted c;
  c.splice_back(a);  // into an empty list
  EXPECT_EQ(ids(c), (std::vector<int>{0, 1, 2, 3, 4}));
  EXPECT_EQ(c.size(), 5u);
  EXPECT_TRUE(a.empty());
}

TEST_F(IntrusiveListTest, CutFrontTakesTheFirstNAndKeepsTheRest) {
  counted l;
  for (int i = 0; i < 5; ++i) l.push_back(&n[i]);
  counted front = l.cut_front(2);
  EXPECT_EQ(ids(front), (std::vector<int>{0, 1}));
  EXPECT_EQ(front.size(), 2u);
  EXPECT_EQ(ids(l), (std::vector<int>{2, 3, 4}));
  EXPECT_EQ(l.size(), 3u);
  // More than there are: all of it, and the list is left empty.
  counted rest = l.cut_front(10);
  EXPECT_EQ(ids(rest), (std::vector<int>{2, 3, 4}));
  EXPECT_EQ(rest.size(), 3u);
  EXPECT_TRUE(l.empty());
  EXPECT_EQ(ids(l), std::vector<int>{});
  EXPECT_EQ(l.size(), 0u);
  counted none = l.cut_front(3);
  EXPECT_TRUE(none.empty());
  EXPECT_EQ(none.size(), 0u);
}

}  // namespace
